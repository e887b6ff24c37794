"""Overdue and due soon for managers and leads; administration for admins."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Agency, User
from resolution.services import accounts
from tests import factories

from .conftest import check_page, csrf_token

Client = Callable[[User], FlaskClient]
OVERDUE_TAG = re.compile(r'<strong class="govuk-tag govuk-tag--red">\s*Overdue\s*</strong>')


def test_overdue_page_counts_and_filters_the_cases_of_the_users_agency(
    world, now, as_user: Client
) -> None:
    late = factories.make_case(world, now - timedelta(days=30), child_ref="CS-LATE")
    police = factories.make_case(
        world,
        now - timedelta(days=30),
        with_agencies=("POLICE",),
        with_people=(),
        child_ref="CS-POLICE",
    )
    other = factories.make_case(
        world,
        now,
        by="police_practitioner",
        with_agencies=("HEALTH",),
        with_people=(),
        child_ref="CS-OTHER",
    )
    client = as_user(world["csc_manager"])
    html = client.get("/overdue").get_data(as_text=True)
    check_page(html)
    assert late.reference in html and police.reference in html
    assert other.reference not in html  # it does not involve CSC
    assert '<span class="app-count__number">2</span> overdue' in html
    assert len(OVERDUE_TAG.findall(html)) == 2
    only_police = client.get("/overdue?agency=POLICE").get_data(as_text=True)
    assert police.reference in only_police and late.reference not in only_police
    by_reference = client.get("/overdue?sort=reference&order=desc").get_data(as_text=True)
    assert by_reference.index(police.reference) < by_reference.index(late.reference)
    assert 'aria-sort="descending"' in by_reference
    nothing = client.get("/overdue?level=managers").get_data(as_text=True)
    assert "No cases match these filters" in nothing


def test_overdue_page_is_paged_in_due_order_and_counts_every_open_case(
    app, world, now, as_user: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resolution.web import oversight

    monkeypatch.setattr(oversight, "PER_PAGE", 2)
    monkeypatch.setitem(app.config, "WEB_CLOCK_NOW", now)
    cases = [
        factories.make_case(world, now - timedelta(days=30 - i), child_ref=f"CS-PAGE{i}")
        for i in range(3)
    ]
    fresh = factories.make_case(world, now, child_ref="CS-FRESH")  # open, not yet due
    client = as_user(world["csc_manager"])
    first = client.get("/overdue").get_data(as_text=True)
    check_page(first)
    assert '<span class="app-count__number">3</span> overdue' in first
    assert '<span class="app-count__number">4</span> open in all' in first
    assert "3 cases" in first and "showing 1 to 2" in first
    assert cases[0].reference in first and cases[1].reference in first
    assert cases[2].reference not in first and fresh.reference not in first
    assert first.index(cases[0].reference) < first.index(cases[1].reference)  # due first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/overdue?show=late&sort=due&order=asc&page=2").get_data(as_text=True)
    check_page(second)
    assert cases[2].reference in second and cases[0].reference not in second
    assert "showing 3 to 3" in second and 'rel="prev"' in second and 'rel="next"' not in second
    everything = client.get("/overdue?show=all").get_data(as_text=True)
    assert "4 cases" in everything
    assert client.get("/overdue?page=nonsense").status_code == 200


def test_a_managers_own_cases_are_those_at_their_level_or_where_they_are_a_party(
    world, now, as_user: Client
) -> None:

    waiting = factories.make_case(world, now, child_ref="CS-AT-ONE")
    escalated = factories.make_case(world, now, child_ref="CS-AT-TWO")
    named = factories.make_case(
        world, now, child_ref="CS-AT-THREE", with_people=("health_practitioner", "csc_manager")
    )
    factories.escalate(world, now, escalated, record="We could not agree.")
    manager = as_user(world["csc_manager"])
    own = manager.get("/cases").get_data(as_text=True)
    check_page(own)
    assert escalated.reference in own  # at the managers' level
    assert waiting.reference not in own  # still with the practitioners
    assert named.reference in own  # with the practitioners, but the manager is a party
    assert waiting.reference in manager.get("/overdue?show=all").get_data(as_text=True)
    practitioner = as_user(world["csc_practitioner"]).get("/cases").get_data(as_text=True)
    assert waiting.reference in practitioner and escalated.reference in practitioner


def test_an_admin_adds_an_agency_and_a_user(world, as_user: Client) -> None:
    client = as_user(world["admin"])
    token = csrf_token(client, "/admin/agencies/new")
    assert (
        client.post(
            "/admin/agencies/new", data={"csrf_token": token, "code": "SCHOOLS", "name": "Schools"}
        ).status_code
        == 302
    )
    duplicate = client.post(
        "/admin/agencies/new", data={"csrf_token": token, "code": "SCHOOLS", "name": "Again"}
    )
    assert duplicate.status_code == 400 and "Already exists" in duplicate.get_data(as_text=True)
    short = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "email": "new@example.org",
            "name": "New Person",
            "agency": "SCHOOLS",
            "role": "practitioner",
            "password": "short",
        },
    )
    assert short.status_code == 400 and "at least 12 characters" in short.get_data(as_text=True)
    made = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "email": "new@example.org",
            "name": "New Person",
            "agency": "SCHOOLS",
            "role": "practitioner",
            "password": "a long enough password",
        },
    )
    assert made.status_code == 302
    found = accounts.check_password(
        db.session(), service_context(), "new@example.org", "a long enough password"
    )
    assert found is not None
    assert db.session.scalar(select(Agency.name).where(Agency.code == "SCHOOLS")) == "Schools"
    assert "New Person" in client.get("/admin").get_data(as_text=True)


def test_an_admin_resets_a_password_revokes_tokens_changes_a_role_and_deactivates(
    world,
    now: datetime,
    as_user: Client,
) -> None:
    target = world["health_practitioner"]
    yesterday = service_context(datetime.now(now.tzinfo) - timedelta(days=1))
    before = accounts.issue_token(db.session(), yesterday, target.email, days=30)
    victim = as_user(target)
    assert victim.get("/cases").status_code == 200
    client = as_user(world["admin"])
    page = client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    check_page(page)
    token = csrf_token(client, f"/admin/users/{target.id}")
    assert (
        client.post(
            f"/admin/users/{target.id}/password",
            data={"csrf_token": token, "password": "new password 123"},
        ).status_code
        == 302
    )
    assert victim.get("/cases").status_code == 302  # the old session has ended
    assert accounts.user_for_token(db.session(), service_context(), before) is None  # revoked
    accounts.issue_token(db.session(), yesterday, target.email, days=30)
    revoked = client.post(
        f"/admin/users/{target.id}/revoke-tokens", data={"csrf_token": token}, follow_redirects=True
    )
    assert "1 API token revoked" in revoked.get_data(as_text=True)
    client.post(f"/admin/users/{target.id}/role", data={"csrf_token": token, "role": "manager"})
    assert db.session.get(User, target.id).role == "manager"
    client.post(f"/admin/users/{target.id}/active", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False
    assert (
        accounts.check_password(db.session(), service_context(), target.email, "new password 123")
        is None
    )


def test_the_admin_page_lists_the_loaded_workflow_versions(world, as_user: Client) -> None:
    html = as_user(world["admin"]).get("/admin").get_data(as_text=True)
    assert "leeds-pcrp version 1 (default for new cases)" in html
    assert "cp-conference-dissent version 1" in html


@pytest.mark.parametrize(
    "path", ["/assets/fonts/", "/static/govuk/../../package.json", "/static/govuk/other.js"]
)
def test_only_the_frontend_files_are_served(client, path: str) -> None:
    assert client.get(path).status_code == 404


def test_recently_closed_cases_are_listed_to_those_who_may_see_them(
    world, now, as_user: Client
) -> None:
    from resolution.context import service_context
    from resolution.services import cases

    case = factories.make_case(world, now, child_ref="CS-DONE")
    cases.take_action(
        db.session(),
        service_context(now + timedelta(hours=1)),
        world["csc_practitioner"].id,
        case.id,
        "withdraw",
        record="Settled between us.",
        expected_version=case.version,
        outcome={"text": "Agreed on the phone."},
    )
    page = as_user(world["csc_practitioner"]).get("/cases").get_data(as_text=True)
    check_page(page)
    closed = page[page.index("Recently closed") :]
    assert case.reference in closed and "CS-DONE" in closed
    assert factories.AGENCIES["HEALTH"] in closed  # the other agency involved
    assert "Withdrawn" in closed or "withdrawn" in closed
    # A lead of an agency not involved sees nothing of it.
    assert case.reference not in as_user(world["police_lead"]).get("/cases").get_data(as_text=True)


def test_the_overdue_page_sorts_by_level_both_ways(world, now, as_user: Client) -> None:

    higher = factories.make_case(world, now, child_ref="CS-HIGHER")
    lower = factories.make_case(world, now, child_ref="CS-LOWER")
    factories.escalate(world, now, higher, record="Not agreed.")
    client = as_user(world["csc_lead"])
    ascending = client.get("/overdue?show=all&sort=level").get_data(as_text=True)
    check_page(ascending)
    assert ascending.index(lower.reference) < ascending.index(higher.reference)
    descending = client.get("/overdue?show=all&sort=level&order=desc").get_data(as_text=True)
    assert descending.index(higher.reference) < descending.index(lower.reference)


def test_the_admin_forms_report_every_bad_field_at_once(world, as_user: Client) -> None:
    client = as_user(world["admin"])
    token = csrf_token(client, "/admin/users/new")
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "email": "not-an-email",
            "name": "New Person",
            "agency": "CSC",
            "role": "practitioner",
            "password": "short",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    check_page(html)
    summary = html[html.index("govuk-error-summary") :]
    summary = summary[: summary.index("</ul>")]
    assert 'href="#email">Enter an email address in the correct format' in summary
    assert 'href="#password">Use at least 12 characters' in summary
    assert 'id="email-error"' in html and 'id="password-error"' in html
    assert db.session.scalar(select(User.id).where(User.email == "not-an-email")) is None

    agency = client.post(
        "/admin/agencies/new", data={"csrf_token": token, "code": "x", "name": " "}
    ).get_data(as_text=True)
    assert 'id="code-error"' in agency and 'id="name-error"' in agency
