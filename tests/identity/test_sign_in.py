"""Signing in with an agency's own account over plain HTTP, against two real providers.

Our side is the Flask test client; the provider's side is a real provider on loopback,
reached with requests, whose answers come back to our callback as a browser would bring
them. Every refusal is also checked in the access log, with its provider and reason.
"""

from __future__ import annotations

import time

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.identity_models import IdentityBinding
from resolution.models import AccessLog, Outbox, User
from resolution.services import accounts
from resolution.services.mailer import RESET_KIND
from tests import factories
from tests.web.conftest import csrf_token, sign_in_as

from .conftest import MOCK_WARNINGS, MockProvider, sign_in_over_http

pytestmark = MOCK_WARNINGS


def log_rows(what: str) -> list[AccessLog]:
    db.session.remove()
    return list(db.session.scalars(select(AccessLog).where(AccessLog.what == what)))


def signed_in(client: FlaskClient) -> bool:
    return client.get("/cases").status_code == 200


def test_a_council_user_signs_in_with_the_council_account(client, world, idps) -> None:
    sub = idps["council"].person("c-001", "csc_practitioner@example.org")
    response = sign_in_over_http(client, "council", sub)
    assert response.status_code == 302
    assert signed_in(client)
    (row,) = log_rows("signed_in")
    assert row.actor == "csc_practitioner@example.org"
    assert "via council, amr pwd+mfa" in (row.target or "")
    binding = db.session.scalar(select(IdentityBinding))
    assert binding is not None
    assert (binding.provider, binding.subject) == ("council", "c-001")
    assert binding.user_id == world["csc_practitioner"].id


def test_once_bound_the_subject_decides_not_the_email(client, world, idps) -> None:
    council = idps["council"]
    sub = council.person("c-002", "csc_manager@example.org")
    assert sign_in_over_http(client, "council", sub).status_code == 302
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    # The provider now says another user's e-mail for the same subject: still the manager.
    council.person("c-002", "csc_lead@example.org")
    assert sign_in_over_http(client, "council", sub).status_code == 302
    rows = log_rows("signed_in")
    assert [r.actor for r in rows] == ["csc_manager@example.org", "csc_manager@example.org"]


def test_each_agency_signs_in_at_its_own_provider(client, world, idps) -> None:
    sub = idps["health"].person("h-001", "health_practitioner@example.org")
    assert sign_in_over_http(client, "health", sub).status_code == 302
    assert signed_in(client)
    assert "via health" in (log_rows("signed_in")[0].target or "")


def refused(response, status: int, words: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert words in html
    return html


CHECKED_BY_THE_CLIENT = [
    pytest.param(lambda idps: {"iss": idps["health"].issuer}, "iss", id="wrong-issuer"),
    # Another relying party's token, whether or not its `azp` names us (Authlib checks the
    # audience only when the service asks it to: this case failed before it did).
    pytest.param(lambda idps: {"aud": "another-service"}, "aud", id="wrong-audience"),
    pytest.param(
        lambda idps: {"aud": "another-service", "azp": "resolution-council"},
        "aud",
        id="wrong-audience-our-azp",
    ),
    pytest.param(lambda idps: {"exp": int(time.time()) - 3600}, "expired", id="expired"),
]


@pytest.mark.parametrize(("claims", "logged"), CHECKED_BY_THE_CLIENT)
def test_an_id_token_that_fails_its_checks_signs_nobody_in(
    client, world, idps, claims, logged
) -> None:
    sub = idps["council"].person("c-bad", "csc_practitioner@example.org", **claims(idps))
    refused(sign_in_over_http(client, "council", sub), 400, "You have not been signed in")
    assert not signed_in(client)
    assert log_rows("signed_in") == []
    (row,) = log_rows("sign_in_failed")
    assert row.actor == accounts.UNKNOWN
    assert "via council" in (row.target or "") and logged in (row.target or "")
    assert db.session.scalar(select(IdentityBinding)) is None


def test_a_replayed_callback_is_refused(client, world, idps) -> None:
    sub = idps["council"].person("c-003", "csc_practitioner@example.org")
    used: list[str] = []
    assert sign_in_over_http(client, "council", sub, keep=used).status_code == 302
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    refused(client.get(used[0]), 400, "You have not been signed in")
    assert not signed_in(client)
    assert "mismatching_state" in (log_rows("sign_in_failed")[0].target or "")


def test_a_callback_from_another_browser_is_refused(client, app, world, idps) -> None:
    sub = idps["council"].person("c-004", "csc_practitioner@example.org")
    used: list[str] = []
    sign_in_over_http(app.test_client(), "council", sub, keep=used)  # someone else's browser
    refused(client.get(used[0]), 400, "You have not been signed in")
    assert not signed_in(client)


def test_a_callback_without_its_state_is_refused(client, world, idps) -> None:
    sub = idps["council"].person("c-005", "csc_practitioner@example.org")
    start = client.get("/sign-in/council")
    chosen = requests.post(
        start.headers["Location"], data={"sub": sub}, allow_redirects=False, timeout=10
    )
    back = chosen.headers["Location"]
    without_state = "&".join(p for p in back.split("?", 1)[1].split("&") if "state=" not in p)
    refused(client.get(f"/sign-in/council/callback?{without_state}"), 400, "not been signed in")
    assert not signed_in(client)
    assert "mismatching_state" in (log_rows("sign_in_failed")[0].target or "")


def test_an_unverified_email_is_not_matched(client, world, idps) -> None:
    sub = idps["council"].user("c-006", email="csc_practitioner@example.org", email_verified=False)
    refused(sign_in_over_http(client, "council", sub), 403, "did not confirm your email")
    assert not signed_in(client)
    assert "e-mail not verified" in (log_rows("sign_in_failed")[0].target or "")


def test_a_user_of_another_agency_is_refused(client, world, idps) -> None:
    sub = idps["council"].person("c-007", "health_practitioner@example.org")
    refused(sign_in_over_http(client, "council", sub), 403, "choose your own agency")
    assert not signed_in(client)
    (row,) = log_rows("sign_in_failed")
    assert row.actor == "health_practitioner@example.org"
    assert "agency HEALTH does not sign in with this provider" in (row.target or "")


def test_a_deactivated_user_is_refused(client, world, idps, now) -> None:
    accounts.set_active(db.session(), service_context(now), "csc_lead@example.org", False)
    sub = idps["council"].person("c-008", "csc_lead@example.org")
    refused(sign_in_over_http(client, "council", sub), 403, "has been deactivated")
    assert not signed_in(client)
    assert "account deactivated" in (log_rows("sign_in_failed")[0].target or "")


def test_a_bound_user_deactivated_later_is_refused(client, world, idps, now) -> None:
    sub = idps["council"].person("c-009", "csc_lead@example.org")
    assert sign_in_over_http(client, "council", sub).status_code == 302
    accounts.set_active(db.session(), service_context(now), "csc_lead@example.org", False)
    assert not signed_in(client)  # the session ended with the deactivation
    refused(sign_in_over_http(client, "council", sub), 403, "has been deactivated")


def test_an_unknown_user_is_refused_where_accounts_are_not_asked_for(client, world, idps) -> None:
    sub = idps["council"].person("c-010", "newcomer@example.org")
    refused(sign_in_over_http(client, "council", sub), 403, "no account for your email")
    assert db.session.scalar(select(User).where(User.email == "newcomer@example.org")) is None


def test_an_unknown_verified_user_gets_a_pending_account_an_admin_approves(
    client, app, world, idps
) -> None:
    health: MockProvider = idps["health"]
    sub = health.person("h-new", "new.nurse@example.org")
    refused(sign_in_over_http(client, "health", sub), 403, "An administrator must approve it")
    db.session.remove()
    user = db.session.scalar(select(User).where(User.email == "new.nurse@example.org"))
    assert user is not None
    assert (user.pending, user.active, user.agency.code) == (True, False, "HEALTH")
    # Asking again does not make a second account; it is still waiting.
    refused(sign_in_over_http(client, "health", sub), 403, "An administrator must approve it")
    assert not signed_in(client)
    # An admin sees the request and approves it (and may change the role, as for anyone).
    admin = sign_in_as(app.test_client(), world["admin"])
    assert "Waiting for approval" in admin.get("/admin").get_data(as_text=True)
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Approve this user" in page
    token = csrf_token(admin, f"/admin/users/{user.id}")
    admin.post(f"/admin/users/{user.id}/active", data={"csrf_token": token})
    assert sign_in_over_http(client, "health", sub).status_code == 302
    assert signed_in(client)
    db.session.remove()
    assert db.session.get(User, user.id).pending is False


def test_the_sign_in_page_offers_each_provider_and_passwords(client, world) -> None:
    html = client.get("/sign-in").get_data(as_text=True)
    assert 'href="/sign-in/council"' in html and "Sign in with City Council account" in html
    assert 'href="/sign-in/health"' in html and "Sign in with NHS account" in html
    assert 'name="password"' in html  # HEALTH, POLICE and PART still use passwords


def sign_in_with_password(client: FlaskClient, email: str):
    return client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(client), "email": email, "password": factories.PASSWORD},
    )


def test_an_agency_without_passwords_cannot_use_one(client, app, world, now) -> None:
    factories.make_user("csc_extra", "CSC", "practitioner", now, password=factories.PASSWORD)
    refused(sign_in_with_password(client, "csc_extra@example.org"), 400, "use the button above")
    assert not signed_in(client)
    factories.make_user("health_extra", "HEALTH", "practitioner", now, password=factories.PASSWORD)
    assert sign_in_with_password(client, "health_extra@example.org").status_code == 302
    assert signed_in(client)


def test_signing_out_offers_the_providers_sign_out(client, world, idps) -> None:
    sub = idps["council"].person("c-011", "csc_practitioner@example.org")
    sign_in_over_http(client, "council", sub)
    response = client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    html = refused(response, 200, "You have signed out")
    assert f'href="{idps["council"].issuer}/oauth2/end_session?' in html
    assert "client_id=resolution-council" in html
    assert "Sign out of your City Council account too" in html
    assert not signed_in(client)
    assert log_rows("signed_out")[0].actor == "csc_practitioner@example.org"


def test_a_password_user_signs_out_as_before(client, world, now) -> None:
    factories.make_user("health_pw", "HEALTH", "practitioner", now, password=factories.PASSWORD)
    sign_in_with_password(client, "health_pw@example.org")
    response = client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    assert response.status_code == 302
    assert "end_session" not in client.get("/sign-in").get_data(as_text=True)


def test_an_unknown_provider_is_not_found(client, world) -> None:
    assert client.get("/sign-in/nobody").status_code == 404
    assert client.get("/sign-in/nobody/callback?code=x&state=y").status_code == 404


def test_a_second_identity_with_the_same_email_is_refused(client, world, idps) -> None:
    council = idps["council"]
    first = council.person("c-020", "csc_practitioner@example.org")
    assert sign_in_over_http(client, "council", first).status_code == 302
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    second = council.person("c-021", "csc_practitioner@example.org")
    refused(sign_in_over_http(client, "council", second), 403, "linked to a different account")
    assert not signed_in(client)
    assert "bound to another identity" in (log_rows("sign_in_failed")[0].target or "")


def test_an_agency_without_passwords_gets_no_reset_link(client, world, now) -> None:
    factories.make_user("csc_extra", "CSC", "practitioner", now, password=factories.PASSWORD)
    factories.make_user("health_extra", "HEALTH", "practitioner", now, password=factories.PASSWORD)
    for email in ("csc_extra@example.org", "health_extra@example.org"):
        asked = client.post(
            "/sign-in/forgotten",
            data={"csrf_token": csrf_token(client, "/sign-in/forgotten"), "email": email},
        )
        assert asked.status_code == 200
    sent = db.session.scalars(select(Outbox.to_email).where(Outbox.kind == RESET_KIND)).all()
    assert sent == ["health_extra@example.org"]
