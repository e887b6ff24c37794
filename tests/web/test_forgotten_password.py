"""A forgotten password: a link e-mailed through the outbox, single use, for one hour."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from flask.testing import FlaskClient

from resolution.context import service_context
from resolution.extensions import db
from resolution.services import accounts
from resolution.services.mailer import send_pending
from tests import factories
from tests.scheduler.conftest import SmtpServer

from .conftest import csrf_token

NEW = "plum tractor velvet onion"
LINK = re.compile(r"https?://\S+(/sign-in/reset/\S+)")


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
    found = LINK.search(body)
    assert found
    path = found.group(1)
    form = client.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    weak = client.post(
        path, data={"csrf_token": csrf_token(client, path), "password": "password1234"}
    )
    assert weak.status_code == 400 and 'href="#password"' in weak.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": csrf_token(client, path), "password": NEW})
    assert done.status_code == 302 and done.headers["Location"] == "/sign-in"
    assert "Your password has been changed" in client.get("/sign-in").get_data(as_text=True)
    assert sign_in(client, sam.email, NEW) == 302
    assert sign_in(app.test_client(), sam.email, factories.PASSWORD) == 400
    assert elsewhere.get("/cases").status_code == 302  # the other session ended
    assert accounts.user_for_token(db.session(), service_context(clock(3)), token) is None
    again = app.test_client().get(path)
    assert again.status_code == 404 and "This link no longer works" in again.get_data(as_text=True)


def test_an_unknown_address_gets_the_same_page_and_no_mail(client, sam, clock, smtp_server) -> None:
    known, unknown = ask(client, sam.email), ask(client, "nobody@example.org")
    strip = re.compile(r'name="csrf_token" value="[^"]+"|nonce="[^"]+"')
    assert strip.sub("", known) == strip.sub("", unknown)
    deliver(smtp_server, clock(1))
    assert [m.to for m in smtp_server.mailbox.items] == [sam.email]


def test_a_link_expires_after_an_hour(app, client, sam, clock, smtp_server) -> None:
    ask(client, sam.email)
    (body,) = deliver(smtp_server, clock(1))
    found = LINK.search(body)
    assert found
    clock(59)
    assert client.get(found.group(1)).status_code == 200
    clock(61)
    assert client.get(found.group(1)).status_code == 404
    refused = client.post(
        found.group(1), data={"csrf_token": csrf_token(client, "/sign-in"), "password": NEW}
    )
    assert refused.status_code == 404
    assert sign_in(client, sam.email, factories.PASSWORD) == 302


def test_asking_again_and_again_sends_one_link_every_five_minutes(
    client, sam, clock, smtp_server
) -> None:
    for _ in range(4):
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
    found = LINK.search(body)
    assert found and client.get(found.group(1)).status_code == 404
