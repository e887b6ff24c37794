"""Fixtures for the JSON API: real tokens, a small client, row counts to prove nothing was written."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.models import Acknowledgement, AuditEvent, Case, CaseParty, Outbox, Record, Step
from resolution.services import accounts

from .. import factories

COUNTED = (Case, Record, Step, Acknowledgement, CaseParty, AuditEvent, Outbox)


@pytest.fixture
def now() -> datetime:
    """Use the real time: the API reads the real clock, so the world is built at it too."""
    return real_now() - timedelta(seconds=5)


@dataclass
class Api:
    """A test client that speaks for a named user of the world with their own token."""

    client: FlaskClient
    tokens: dict[str, str]

    def call(
        self,
        method: str,
        path: str,
        who: str | None,
        json: Any = None,
        *,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> TestResponse:
        sent = dict(headers or {})
        if who is not None:
            sent["Authorization"] = f"Bearer {self.tokens[who]}"
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        if data is not None:
            return self.client.open(
                url, method=method, data=data, headers=sent, content_type="application/json"
            )
        return self.client.open(url, method=method, json=json, headers=sent)

    def get(self, path: str, who: str | None, **kw: Any) -> TestResponse:
        return self.call("GET", path, who, **kw)

    def post(self, path: str, who: str | None, json: Any = None, **kw: Any) -> TestResponse:
        return self.call("POST", path, who, json, **kw)


@pytest.fixture
def tokens(world: factories.World) -> dict[str, str]:
    """A live token for every user of the world, issued at the real time."""
    return {
        name: accounts.issue_token(db.session(), service_context(real_now()), user.email)
        for name, user in world.users.items()
    }


@pytest.fixture
def api(client: FlaskClient, tokens: dict[str, str]) -> Api:
    return Api(client, tokens)


def row_counts() -> dict[str, int]:
    """Count the rows of every table a change writes to."""
    db.session.rollback()
    return {
        m.__tablename__: int(db.session.scalar(select(func.count()).select_from(m)) or 0)
        for m in COUNTED
    }


@contextmanager
def nothing_written() -> Iterator[None]:
    """Fail if any counted table gains or loses rows inside the block."""
    before = row_counts()
    yield
    assert row_counts() == before


def new_case(world: factories.World, now: datetime, **kw: Any) -> Case:
    """Raise a case at the given time (CSC practitioner with Health's practitioner, by default)."""
    return factories.make_case(world, now, **kw)


def error_of(response: TestResponse) -> dict[str, Any]:
    """Return the error body after checking its shape."""
    body = response.get_json()
    assert response.mimetype == "application/json", response.data[:200]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]  # type: ignore[no-any-return]
