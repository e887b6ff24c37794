"""Fixtures for the web pages: signing in through the session, CSRF tokens, a page checker."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import User
from resolution.services import signins

from ..scheduler.conftest import smtp_server  # noqa: F401 - a real SMTP server for the pages' e-mails

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in_as(client: FlaskClient, user: User) -> FlaskClient:
    """Begin a server-side session for the user and put its key in the client's cookie,
    as signing in would (without the password's deliberately slow check)."""
    ctx = service_context(client.application.config.get("WEB_CLOCK_NOW"))
    key = signins.begin(db.session(), ctx, user)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["sid"] = key
        session.permanent = True
    return client


def csrf_token(client: FlaskClient, path: str = "/sign-in") -> str:
    """Return a CSRF token for the client's session, read from a page as a browser would."""
    found = TOKEN_RE.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


class PageShape(HTMLParser):
    """Collect what every page must have: one title, one h1, a label for every field."""

    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self.h1 = 0
        self.ids: list[str] = []
        self.labels: set[str] = set()
        self.fields: list[str] = []
        self._in_title = False
        self._svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "svg":
            self._svg += 1
        elif tag == "title" and not self._svg:
            self._in_title = True
            self.titles.append("")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.fields.append(str(a.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg -= 1
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles[-1] += data


def check_page(html: str) -> str:
    """Assert the page's shape and return its title."""
    shape = PageShape()
    shape.feed(html)
    assert len(shape.titles) == 1, "one <title>"
    assert shape.h1 == 1, f"one h1, found {shape.h1}"
    duplicates = {i for i in shape.ids if shape.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"
    unlabelled = [f for f in shape.fields if f not in shape.labels]
    assert not unlabelled, f"fields without a label: {unlabelled}"
    return " ".join(shape.titles[0].split())


@pytest.fixture
def clock(app: Flask, monkeypatch: pytest.MonkeyPatch, now: datetime):
    """Move the web pages' clock: returns a function setting it `minutes` after `now`."""

    def at(minutes: float) -> datetime:
        moment = now + timedelta(minutes=minutes)
        monkeypatch.setitem(app.config, "WEB_CLOCK_NOW", moment)
        return moment

    at(0)
    return at


@pytest.fixture
def as_user(app: Flask) -> Callable[[User], FlaskClient]:
    """Return a function giving a fresh client signed in as a user."""

    def make(user: User) -> FlaskClient:
        return sign_in_as(app.test_client(), user)

    return make
