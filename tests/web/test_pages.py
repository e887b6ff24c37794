"""Each page renders for the roles it is for, and refuses everyone else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from resolution.models import User
from tests import factories

from .conftest import check_page

Client = Callable[[User], FlaskClient]


@pytest.fixture
def case(world, now):
    return factories.make_case(world, now)


@pytest.mark.parametrize(
    ("who", "path", "heading"),
    [
        ("csc_practitioner", "/cases", "Your cases"),
        ("csc_practitioner", "/cases/{id}", "Case RC-"),
        ("health_practitioner", "/cases/{id}/records/new", "Add a record"),
        ("csc_practitioner", "/cases/{id}/timescale", "Propose a timescale"),
        ("csc_practitioner", "/cases/{id}/actions/escalate", "Escalate to the next level"),
        ("csc_practitioner", "/cases/{id}/actions/withdraw", "Withdraw the disagreement"),
        ("csc_practitioner", "/raise/risk", "Immediate risk to a child"),
        ("health_manager", "/overdue", "Overdue and due soon"),
        ("csc_lead", "/cases/{id}", "Case RC-"),
        ("partnership", "/overdue", "Overdue and due soon"),
        ("auditor", "/cases/{id}", "Case RC-"),
        ("admin", "/admin", "Administration"),
        ("admin", "/admin/users/new", "Add a user"),
        ("admin", "/admin/agencies/new", "Add an agency"),
    ],
)
def test_each_page_renders_for_its_users_with_one_title_one_h1_and_labelled_fields(
    world,
    case,
    as_user: Client,
    who: str,
    path: str,
    heading: str,
) -> None:
    response = as_user(world[who]).get(path.format(id=case.id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    title = check_page(html)
    assert title.startswith(heading)
    assert heading in html


def test_every_page_title_is_different(world, case, as_user: Client) -> None:
    client = as_user(world["csc_practitioner"])
    paths = [
        "/cases",
        f"/cases/{case.id}",
        f"/cases/{case.id}/records/new",
        f"/cases/{case.id}/timescale",
        f"/cases/{case.id}/actions/escalate",
        "/raise/risk",
    ]
    titles = [check_page(client.get(p).get_data(as_text=True)) for p in paths]
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("csc_practitioner", "/admin"),
        ("csc_practitioner", "/overdue"),
        ("csc_practitioner", "/outcomes"),
        ("auditor", "/raise/risk"),
        ("auditor", "/overdue"),
        ("admin", "/cases"),
        ("health_manager", "/admin/users/new"),
        ("partnership", "/raise/risk"),
    ],
)
def test_pages_of_other_roles_are_forbidden(world, as_user: Client, who: str, path: str) -> None:
    response = as_user(world[who]).get(path)
    assert response.status_code == 403
    assert "You cannot do this" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "who", ["police_practitioner", "csc_practitioner2", "police_manager", "admin"]
)
def test_a_case_the_user_may_not_see_is_not_found(world, case, as_user: Client, who: str) -> None:
    client = as_user(world[who])
    for path in (
        f"/cases/{case.id}",
        f"/cases/{case.id}/records/new",
        f"/cases/{case.id}/actions/escalate",
    ):
        response = client.get(path)
        assert response.status_code in (403, 404) if who == "admin" else response.status_code == 404
        assert case.reference not in response.get_data(as_text=True)


def test_a_missing_case_looks_the_same_as_a_hidden_one(world, as_user: Client) -> None:
    response = as_user(world["csc_practitioner"]).get("/cases/999999")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_an_id_too_large_for_any_row_is_not_found_on_every_page(world, as_user: Client) -> None:
    client = as_user(world["csc_practitioner"])
    for path in ("/cases/4502779097460", "/cases/4502779097460/records/new", "/cases/0"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(client, case) -> None:
    for path in ("/cases", f"/cases/{case.id}", "/raise/risk", "/admin", "/overdue", "/outcomes"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/sign-in")


def test_web_pages_carry_the_security_headers(client) -> None:
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self' 'nonce-" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_each_response_has_its_own_nonce(client) -> None:
    first = client.get("/sign-in").headers["Content-Security-Policy"]
    second = client.get("/sign-in").headers["Content-Security-Policy"]
    assert first != second


def test_the_session_cookie_is_http_only_and_same_site_lax(app, world) -> None:
    client = app.test_client()
    client.get("/sign-in")
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_unknown_web_paths_get_an_html_page_and_api_paths_json(client) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code in (401, 404)
    assert api.is_json


def test_the_start_page_sends_each_role_to_its_page(world, as_user: Client) -> None:
    assert as_user(world["csc_practitioner"]).get("/").headers["Location"] == "/cases"
    assert as_user(world["auditor"]).get("/").headers["Location"] == "/outcomes"
    assert as_user(world["admin"]).get("/").headers["Location"] == "/admin"


def test_pages_name_the_partnership_not_the_crown_and_who_is_signed_in(app, world, as_user) -> None:
    old = app.config["PARTNERSHIP_NAME"]
    app.config["PARTNERSHIP_NAME"] = "Northtown Safeguarding Children Partnership"
    try:
        html = as_user(world["csc_practitioner"]).get("/cases").get_data(as_text=True)
        signed_out = app.test_client().get("/sign-in").get_data(as_text=True)
    finally:
        app.config["PARTNERSHIP_NAME"] = old
    for page in (html, signed_out):
        assert "Run by Northtown Safeguarding Children Partnership." in page
        assert "© Northtown Safeguarding Children Partnership" in page
        for crown in ("govuk-footer__crown", "crown-copyright", "Crown copyright", "favicon"):
            assert crown not in page, crown
    assert "Signed in as <strong>Csc Practitioner</strong>, Children&#39;s Social Care" in html
    assert "Signed in as" not in signed_out
