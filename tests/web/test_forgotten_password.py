"""A forgotten password: a link e-mailed through the outbox, single use, for one hour."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Outbox
from resolution.services import accounts
from resolution.services.mailer import send_pending
from tests import factories
from tests.scheduler.conftest import SmtpServer

from .conftest import csrf_token

NEW = "plum tractor velvet onion"
LINK = re.compile(r"https?://\S+(/sign-in/reset\?key=\S+)")
RESET = "/sign-in/reset"


@pytest.fixture
def sam(world, now):
    return factories.make_user("sam", "CSC", "practitioner", now, password=factories.PASSWORD)


def ask(client: FlaskClient, email: str) -> str:
    response = client.post(
        "/sign-in/forgotten",
        data={"csrf_token": csrf_token(client, "/sign-in/forgotten"), "email": email},
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def deliver(server: SmtpServer, at: datetime) -> list[str]:
    """Send the outbox and return the paths of the reset links that arrived."""
    server.mailbox.clear()
    send_pending(db.session(), service_context(at), server.settings, clock=lambda: at)
    return [m.body for m in server.mailbox.items]


def open_link(client: FlaskClient, body: str):
    """Follow the e-mail's link as a browser would: its key moves into the session."""
    found = LINK.search(body)
    assert found, body
    opened = client.get(found.group(1))
    assert opened.status_code == 302 and opened.headers["Location"] == RESET  # key off the bar
    return client.get(RESET)


def choose(client: FlaskClient, password: str):
    return client.post(
        RESET, data={"csrf_token": csrf_token(client, "/sign-in"), "password": password}
    )


def sign_in(client: FlaskClient, email: str, password: str) -> int:
    return client.post(
        "/sign-in", data={"csrf_token": csrf_token(client), "email": email, "password": password}
    ).status_code


def test_a_user_resets_a_forgotten_password_through_the_emailed_link(
    app, client, sam, clock, smtp_server, now
) -> None:
    elsewhere = app.test_client()
    assert sign_in(elsewhere, sam.email, factories.PASSWORD) == 302
    token = accounts.issue_token(db.session(), service_context(now), sam.email)
    page = ask(client, sam.email.upper())
    assert "Check your email" in page
    (body,) = deliver(smtp_server, clock(1))
    assert smtp_server.mailbox.items[0].to == sam.email
    assert "within 60 minutes" in body and "works once" in body
    form = open_link(client, body)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    assert f'autocomplete="username" value="{sam.email}"' in form.get_data(as_text=True)
    weak = choose(client, "password1234")
    assert weak.status_code == 400 and 'href="#password"' in weak.get_data(as_text=True)
    done = choose(client, NEW)
    assert done.status_code == 302 and done.headers["Location"] == "/sign-in"
    assert "Your password has been changed" in client.get("/sign-in").get_data(as_text=True)
    assert sign_in(client, sam.email, NEW) == 302
    assert sign_in(app.test_client(), sam.email, factories.PASSWORD) == 400
    assert elsewhere.get("/cases").status_code == 302  # the other session ended
    assert accounts.user_for_token(db.session(), service_context(clock(3)), token) is None
    again = open_link(app.test_client(), body)
    assert again.status_code == 404 and "This link no longer works" in again.get_data(as_text=True)
    (row,) = db.session.scalars(select(Outbox).where(Outbox.to_email == sam.email))
    assert "/sign-in/reset" not in row.body  # the outbox keeps no copy of a sent link


def test_a_link_opened_in_two_tabs_sets_one_password(app, client, sam, clock, smtp_server) -> None:
    ask(client, sam.email)
    (body,) = deliver(smtp_server, clock(1))
    other_tab = app.test_client()
    assert open_link(client, body).status_code == 200
    assert open_link(other_tab, body).status_code == 200
    assert choose(client, NEW).status_code == 302
    late = choose(other_tab, "another long passphrase here")
    assert late.status_code == 404 and "This link no longer works" in late.get_data(as_text=True)
    assert sign_in(client, sam.email, NEW) == 302


def test_an_unknown_address_gets_the_same_page_and_no_mail(client, sam, clock, smtp_server) -> None:
    known, unknown = ask(client, sam.email), ask(client, "nobody@example.org")
    strip = re.compile(r'name="csrf_token" value="[^"]+"|nonce="[^"]+"')
    assert strip.sub("", known) == strip.sub("", unknown)
    deliver(smtp_server, clock(1))
    assert [m.to for m in smtp_server.mailbox.items] == [sam.email]


def test_a_link_expires_after_an_hour(app, client, sam, clock, smtp_server) -> None:
    ask(client, sam.email)
    (body,) = deliver(smtp_server, clock(1))
    clock(59)
    assert open_link(client, body).status_code == 200
    clock(61)
    assert client.get(RESET).status_code == 404
    assert choose(client, NEW).status_code == 404
    assert sign_in(client, sam.email, factories.PASSWORD) == 302


def test_asking_again_and_again_sends_one_link_every_five_minutes(
    client, sam, clock, smtp_server
) -> None:
    for _ in range(3):
        ask(client, sam.email)
    assert len(deliver(smtp_server, clock(1))) == 1
    clock(6)
    ask(client, sam.email)
    assert len(deliver(smtp_server, clock(7))) == 1


def test_a_link_dies_when_the_password_changes_another_way(
    client, sam, clock, smtp_server, now
) -> None:
    ask(client, sam.email)
    (body,) = deliver(smtp_server, clock(1))
    accounts.set_password(db.session(), service_context(clock(2)), sam.email, NEW)
    assert open_link(client, body).status_code == 404


def test_no_link_for_an_account_without_a_password_or_a_deactivated_one(
    client, sam, world, clock, smtp_server, now
) -> None:
    accounts.set_active(db.session(), service_context(now), sam.email, False)
    ask(client, sam.email)
    ask(client, world["csc_practitioner"].email)  # an account for API tokens only
    assert deliver(smtp_server, clock(1)) == []


def test_asking_too_often_is_slowed_like_signing_in(client, sam, clock) -> None:
    for _ in range(3):
        ask(client, sam.email)
    slowed = client.post(
        "/sign-in/forgotten",
        data={"csrf_token": csrf_token(client, "/sign-in/forgotten"), "email": sam.email},
    )
    assert slowed.status_code == 429
    assert "Too many requests for a link. Wait 2 seconds" in slowed.get_data(as_text=True)
