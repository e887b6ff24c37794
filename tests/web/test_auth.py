"""Signing in and out: one message for every failure, slowed when repeated, ended at once."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask

from resolution.context import service_context
from resolution.extensions import db
from resolution.services import accounts
from resolution.services.throttle import Policy
from resolution.web.security import SignInThrottle
from tests import factories

from .conftest import csrf_token

WRONG = "Enter a correct email address and password"


@pytest.fixture
def sam(app: Flask, now: datetime):
    accounts.create_agency(db.session(), service_context(now), "CSC", "Children's Social Care")
    return factories.make_user("sam", "CSC", "practitioner", now, password=factories.PASSWORD)


def sign_in(client, email: str, password: str):
    return client.post(
        "/sign-in", data={"csrf_token": csrf_token(client), "email": email, "password": password}
    )


def test_a_user_signs_in_with_their_password_and_reaches_their_cases(client, sam) -> None:
    response = sign_in(client, sam.email, factories.PASSWORD)
    assert response.status_code == 302
    page = client.get("/cases")
    assert page.status_code == 200
    assert "Sign out" in page.get_data(as_text=True)


def test_a_wrong_password_and_an_unknown_email_get_the_same_message(client, sam) -> None:
    wrong_password = sign_in(client, sam.email, "not the password at all")
    unknown = sign_in(client, "nobody@example.org", "not the password at all")
    assert wrong_password.status_code == unknown.status_code == 400
    for response in (wrong_password, unknown):
        html = response.get_data(as_text=True)
        assert WRONG in html
        assert "Error: Sign in" in html
    assert client.get("/cases").status_code == 302


def test_empty_fields_are_named_in_the_error_summary_with_links(client, sam) -> None:
    html = sign_in(client, "", "").get_data(as_text=True)
    assert 'href="#email"' in html and "Enter your email address" in html
    assert 'href="#password"' in html and "Enter your password" in html


def test_repeated_failures_make_even_the_right_password_wait(client, sam) -> None:
    for _ in range(3):
        sign_in(client, sam.email, "a wrong password here")
    response = sign_in(client, sam.email, factories.PASSWORD)
    assert response.status_code == 400
    assert "Too many attempts to sign in" in response.get_data(as_text=True)
    assert client.get("/cases").status_code == 302


def small_throttle() -> SignInThrottle:
    return SignInThrottle(Policy(free=2, first=10, longest=60))


def test_the_throttle_doubles_the_wait_and_forgets_after_success(app: Flask, clock) -> None:
    throttle = small_throttle()
    assert throttle.wait_left("a@example.org", "1.2.3.4") == 0
    throttle.failed("a@example.org", "1.2.3.4")
    assert throttle.wait_left("a@example.org", "1.2.3.4") == 0
    throttle.failed("A@example.org", "1.2.3.4")
    assert throttle.wait_left("a@example.org", "1.2.3.4") == 10
    clock(0.1)  # six seconds on
    assert throttle.wait_left("a@example.org", "1.2.3.4") == 4
    assert throttle.wait_left("a@example.org", "5.6.7.8") == 0
    throttle.failed("a@example.org", "1.2.3.4")
    assert throttle.wait_left("a@example.org", "1.2.3.4") == 20
    assert throttle.window(10) == 60
    throttle.succeeded("a@example.org", "1.2.3.4")
    assert throttle.wait_left("a@example.org", "1.2.3.4") == 0


def test_every_worker_shares_the_counts_and_none_is_kept_as_typed(app: Flask, clock) -> None:
    from resolution.models import SignInFailure

    one, two = small_throttle(), small_throttle()  # two workers
    one.failed("a@example.org", "1.2.3.4")
    two.failed("a@example.org", "1.2.3.4")
    assert one.wait_left("a@example.org", "1.2.3.4") == 10
    assert two.wait_left("a@example.org", "1.2.3.4") == 10
    keys = " ".join(db.session.scalars(db.select(SignInFailure.key)))
    assert "a@example.org" not in keys and "1.2.3.4" not in keys


def test_an_address_trying_many_emails_and_an_email_tried_from_many_addresses_wait(
    app: Flask, clock
) -> None:
    throttle = small_throttle()
    for n in range(20):  # ten times the free failures of one e-mail from one address
        throttle.failed(f"person{n}@example.org", "1.2.3.4")
    assert throttle.wait_left("someone.else@example.org", "1.2.3.4") > 9
    assert throttle.wait_left("someone.else@example.org", "5.6.7.8") == 0
    for n in range(20):
        throttle.failed("target@example.org", f"10.0.0.{n}")
    assert throttle.wait_left("target@example.org", "10.9.9.9") > 9
    throttle.succeeded("target@example.org", "10.9.9.9")  # the right password, at last
    assert throttle.wait_left("target@example.org", "10.9.9.9") == 0
    assert throttle.wait_left("nobody@example.org", "1.2.3.4") > 9  # the address still waits


def test_signing_out_ends_the_session(client, sam) -> None:
    sign_in(client, sam.email, factories.PASSWORD)
    response = client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    assert response.status_code == 302
    assert client.get("/cases").status_code == 302


def test_signing_out_without_the_csrf_token_is_refused(client, sam) -> None:
    sign_in(client, sam.email, factories.PASSWORD)
    assert client.post("/sign-out").status_code == 400
    assert client.get("/cases").status_code == 200


def test_a_password_reset_ends_existing_sessions_at_once(client, sam, now) -> None:
    sign_in(client, sam.email, factories.PASSWORD)
    accounts.set_password(db.session(), service_context(now), sam.email, "another long password")
    assert client.get("/cases").status_code == 302


def test_deactivation_ends_existing_sessions_at_once(client, sam, now) -> None:
    sign_in(client, sam.email, factories.PASSWORD)
    accounts.set_active(db.session(), service_context(now), sam.email, False)
    assert client.get("/cases").status_code == 302
    assert WRONG in sign_in(client, sam.email, factories.PASSWORD).get_data(as_text=True)


def test_sign_in_never_redirects_to_another_site(client, sam) -> None:
    token = csrf_token(client)
    response = client.post(
        "/sign-in?next=https://evil.example/",
        data={"csrf_token": token, "email": sam.email, "password": factories.PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_a_password_typed_in_the_email_box_is_not_kept_in_the_access_log(client, sam) -> None:
    from resolution.models import AccessLog

    sign_in(client, "my secret passphrase 77", "oops")
    sign_in(client, sam.email.upper(), "not the password at all")
    actors = list(db.session.scalars(db.select(AccessLog.actor).order_by(AccessLog.id)))
    assert actors == ["unknown", sam.email]


def test_a_user_changes_their_password_staying_signed_in_while_the_rest_ends(
    app: Flask, client, sam, now
) -> None:
    token = accounts.issue_token(db.session(), service_context(now), sam.email, days=30)
    other = app.test_client()
    sign_in(other, sam.email, factories.PASSWORD)
    sign_in(client, sam.email, factories.PASSWORD)
    page = client.get("/cases").get_data(as_text=True)
    assert 'href="/account/password"' in page  # linked from the header
    form = client.get("/account/password")
    assert form.status_code == 200 and "Current password" in form.get_data(as_text=True)
    csrf = csrf_token(client, "/account/password")
    wrong = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current": "not it at all", "password": "a new long passphrase"},
    )
    assert wrong.status_code == 400
    assert "Enter your current password correctly" in wrong.get_data(as_text=True)
    weak = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current": factories.PASSWORD, "password": "123456789012"},
    )
    assert weak.status_code == 400 and "harder to guess" in weak.get_data(as_text=True)
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current": factories.PASSWORD,
            "password": "a new long passphrase",
        },
        follow_redirects=True,
    )
    assert changed.status_code == 200
    assert "Your password has been changed" in changed.get_data(as_text=True)
    assert client.get("/cases").status_code == 200  # this session goes on
    assert other.get("/cases").status_code == 302  # the other has ended
    assert accounts.user_for_token(db.session(), service_context(now), token) is None


def test_changing_a_password_needs_a_signed_in_user(client) -> None:
    assert client.get("/account/password").status_code == 302
