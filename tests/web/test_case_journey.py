"""Raising, recording, agreeing timescales and acting on a case through the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.models import Case, Record, User
from resolution.services import accounts, timescales
from resolution.services import cases as case_service
from tests import factories

from .conftest import check_page, csrf_token

Client = Callable[[User], FlaskClient]


@pytest.fixture
def case(world, now):
    return factories.make_case(world, now)


def post(client: FlaskClient, path: str, data: dict, token_from: str | None = None):
    return client.post(path, data={"csrf_token": csrf_token(client, token_from or path), **data})


def test_raising_a_disagreement_question_by_question(world, as_user: Client) -> None:
    client = as_user(world["csc_practitioner"])
    assert client.get("/raise").headers["Location"] == "/raise/risk"
    risk_page = client.get("/raise/risk").get_data(as_text=True)
    assert (
        "Emergency Duty Team" in risk_page
    )  # the definition's urgent advice: who to refer to first
    assert post(client, "/raise/risk", {"risk": "no"}).headers["Location"] == "/raise/agencies"
    assert post(client, "/raise/agencies", {"agencies": ["HEALTH"]}).headers["Location"] == (
        "/raise/people"
    )
    picked = {"person": "health_practitioner@example.org", "action": "continue"}
    assert post(client, "/raise/people", picked).headers["Location"] == "/raise/about"
    answers = {
        "workflow": "leeds-pcrp",
        "child_ref": "CS-555001",
        "child_initials": "ab",
        "category": "threshold",
        "summary": "Health think the threshold is met.",
    }
    assert post(client, "/raise/about", answers).headers["Location"] == "/raise/check"
    check = client.get("/raise/check")
    html = check.get_data(as_text=True)
    assert check_page(html).startswith("Check your answers")
    assert (
        "CS-555001 (AB)" in html
        and "Community Health" in html
        and "Health Practitioner (Community Health)" in html
    )
    done = post(client, "/raise/check", {})
    case = db.session.scalar(select(Case).where(Case.child_ref == "CS-555001"))
    assert case is not None
    assert done.headers["Location"] == f"/cases/{case.id}"
    assert {p.user.email for p in case.parties} == {
        world["csc_practitioner"].email,
        world["health_practitioner"].email,
    }
    assert f"your reference is {case.reference}" in client.get(done.headers["Location"]).get_data(
        as_text=True
    )


def test_the_immediate_risk_route_asks_for_the_referral_and_starts_higher(
    world, as_user: Client
) -> None:
    client = as_user(world["csc_practitioner"])
    assert post(client, "/raise/risk", {"risk": "yes"}).headers["Location"] == "/raise/referral"
    today = real_now()
    bad = post(client, "/raise/referral", {"referred_to": "", "referral_date": ["", "", ""]})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert 'href="#referred_to"' in html and 'href="#referral_date-day"' in html
    ok = post(
        client,
        "/raise/referral",
        {
            "referred_to": "Emergency Duty Team",
            "referral_date": [str(today.day), str(today.month), str(today.year)],
        },
    )
    assert ok.headers["Location"] == "/raise/agencies"
    post(client, "/raise/agencies", {"agencies": ["POLICE"]})
    post(
        client,
        "/raise/about",
        {
            "workflow": "leeds-pcrp",
            "child_ref": "CS-555002",
            "category": "threshold",
            "summary": "Urgent.",
        },
    )
    post(client, "/raise/check", {})
    case = db.session.scalar(select(Case).where(Case.child_ref == "CS-555002"))
    assert case is not None and case.urgent and case.state == "leads"
    assert case.referred_to == "Emergency Duty Team"


def test_question_pages_list_every_error_with_a_link_to_its_field(world, as_user: Client) -> None:
    client = as_user(world["csc_practitioner"])
    post(client, "/raise/risk", {"risk": "no"})
    assert 'href="#agencies"' in post(client, "/raise/agencies", {}).get_data(as_text=True)
    post(client, "/raise/agencies", {"agencies": ["HEALTH"]})
    response = post(client, "/raise/about", {"workflow": "leeds-pcrp"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert check_page(html).startswith("Error: About the disagreement")
    for field in ("child_ref", "category", "summary"):
        assert f'href="#{field}"' in html


def test_a_case_reference_that_is_a_name_is_refused_on_its_own_page(world, as_user: Client) -> None:
    client = as_user(world["csc_practitioner"])
    post(client, "/raise/risk", {"risk": "no"})
    post(client, "/raise/agencies", {"agencies": ["HEALTH"]})
    about = {"workflow": "leeds-pcrp", "category": "threshold", "summary": "x"}
    response = post(client, "/raise/about", {**about, "child_ref": "Jane Smith"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    check_page(html)
    message = "Enter the case reference your agency uses, like CS-402117: not a name"
    assert f'href="#child_ref">{message}</a>' in html  # the summary, linked to the field
    assert 'id="child_ref-error"' in html  # and the message by the field
    bad_initials = post(
        client, "/raise/about", {**about, "child_ref": "CS-1", "child_initials": "J5"}
    )
    assert "Enter the child&#39;s initials only" in bad_initials.get_data(as_text=True)
    assert post(client, "/raise/about", {**about, "child_ref": "CS-1"}).status_code == 302


def test_a_refusal_on_the_check_page_links_to_the_question_which_shows_it(
    world, now, as_user: Client
) -> None:
    client = as_user(world["csc_practitioner"])
    post(client, "/raise/risk", {"risk": "no"})
    post(client, "/raise/agencies", {"agencies": ["HEALTH"]})
    named = {"person": "health_practitioner@example.org", "action": "continue"}
    post(client, "/raise/people", named)
    about = {"workflow": "leeds-pcrp", "child_ref": "CS-1", "category": "threshold"}
    post(client, "/raise/about", {**about, "summary": "x"})
    # The person named leaves between their page and the check page.
    accounts.set_active(
        db.session(), service_context(now), "health_practitioner@example.org", False
    )
    response = post(client, "/raise/check", {})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "/raise/people?change=1" in html and "health_practitioner@example.org" in html
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    page = client.get("/raise/people?change=1").get_data(as_text=True)
    assert "Who at these agencies do you disagree with?" in page
    assert 'value="health_practitioner@example.org"' not in page  # no longer one to pick


def test_a_record_containing_a_script_tag_shows_as_text(world, case, as_user: Client) -> None:
    client = as_user(world["health_practitioner"])
    path = f"/cases/{case.id}/records/new"
    response = post(
        client, path, {"kind": "discussion", "text": "<script>alert('x')</script> & more"}
    )
    assert response.status_code == 302
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in html
    assert "<script>alert" not in html


def test_forms_without_the_csrf_token_are_refused_and_write_nothing(
    world, case, as_user: Client
) -> None:
    client = as_user(world["health_practitioner"])
    response = client.post(f"/cases/{case.id}/records/new", data={"kind": "note", "text": "forged"})
    assert response.status_code == 400
    assert "Your form has expired" in response.get_data(as_text=True)
    wrong = client.post(
        f"/cases/{case.id}/records/new",
        data={"kind": "note", "text": "forged", "csrf_token": "not-a-token"},
    )
    assert wrong.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Record)) == 0


def test_an_action_needs_its_own_deadline(world, case, as_user: Client) -> None:
    client = as_user(world["health_practitioner"])
    response = post(
        client, f"/cases/{case.id}/records/new", {"kind": "action", "text": "Send the chronology"}
    )
    assert response.status_code == 400
    assert 'href="#action_due-day"' in response.get_data(as_text=True)
    due = (real_now() + timedelta(days=7)).date()
    ok = post(
        client,
        f"/cases/{case.id}/records/new",
        {
            "kind": "action",
            "text": "Send the chronology",
            "action_due": [str(due.day), str(due.month), str(due.year)],
        },
    )
    assert ok.status_code == 302
    record = db.session.scalar(select(Record))
    assert record is not None and record.action_due_at is not None


def test_the_other_agency_reads_a_record_and_accepts_a_proposed_timescale(
    world, case, as_user: Client
) -> None:
    sam, priya = as_user(world["csc_practitioner"]), as_user(world["health_practitioner"])
    post(
        sam,
        f"/cases/{case.id}/records/new",
        {"kind": "discussion", "text": "We spoke on the phone."},
    )
    due = factories.working_day(real_now(), 10).date()
    proposed = post(
        sam,
        f"/cases/{case.id}/timescale",
        {
            "due": [str(due.day), str(due.month), str(due.year)],
            "reason": "Waiting for the chronology",
        },
    )
    assert proposed.status_code == 302
    assert "Accept the proposed timescale" not in sam.get(f"/cases/{case.id}").get_data(
        as_text=True
    )
    page = priya.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Accept the proposed timescale" in page and "Mark as read" in page
    assert f"Csc Practitioner, {escape(factories.AGENCIES['CSC'])}, at " in page  # raised by
    assert "Waiting on you" in priya.get("/cases").get_data(as_text=True)
    record = db.session.scalar(select(Record))
    assert record is not None
    post(priya, f"/records/{record.id}/read", {}, token_from=f"/cases/{case.id}")
    db.session.refresh(case)
    accepted = post(
        priya,
        f"/cases/{case.id}/timescale/accept",
        {"version": str(case.version)},
        token_from=f"/cases/{case.id}",
    )
    assert accepted.status_code == 302
    page = sam.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Read by Health Practitioner" in page
    assert "Agreed by Csc Practitioner and Health Practitioner" in page


def test_a_stale_form_says_what_changed_and_can_be_sent_again(
    world, now, case, as_user: Client
) -> None:
    client = as_user(world["csc_practitioner"])
    seen = case.version  # Sam opens the escalation page; meanwhile Priya proposes a timescale.
    due = datetime(2026, 12, 9, 17, tzinfo=ZoneInfo("Europe/London"))
    timescales.propose_timescale(
        db.session(), service_context(now), world["health_practitioner"].id, case.id,
        due_at=due, reason="both available next week", expected_version=seen,
    )  # fmt: skip
    escalate = f"/cases/{case.id}/actions/escalate"
    response = post(client, escalate, {"record": "Escalating", "version": str(seen)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    check_page(html)
    assert (
        "This case changed while you were on this page: Health Practitioner proposed "
        "9 December 2026: both available next week"
    ) in html
    assert f'href="/cases/{case.id}">' in html  # the case as it is now
    db.session.refresh(case)
    assert case.state == "practitioners"
    assert f'name="version" type="hidden" value="{case.version}"' in html
    assert "Escalating" in html  # what was typed is kept
    again = post(client, escalate, {"record": "Escalating", "version": str(case.version)})
    assert again.status_code == 302


def test_escalating_then_resolving_with_learning_themes(world, case, as_user: Client) -> None:
    sam, manager = as_user(world["csc_practitioner"]), as_user(world["health_manager"])
    escalate = f"/cases/{case.id}/actions/escalate"
    missing = post(sam, escalate, {"record": "", "version": str(case.version)})
    assert missing.status_code == 400 and 'href="#record"' in missing.get_data(as_text=True)
    post(sam, escalate, {"record": "No agreement.", "version": str(case.version)})
    db.session.refresh(case)
    assert case.state == "managers"
    assert "Record that it is resolved" in manager.get(f"/cases/{case.id}").get_data(as_text=True)
    resolve = f"/cases/{case.id}/actions/resolve"
    themeless = post(
        manager,
        resolve,
        {
            "record": "Agreed.",
            "outcome": "Assessment opened.",
            "themes": ["neglect"],
            "version": str(case.version),
        },
    )
    assert "Enter what was learnt" in themeless.get_data(as_text=True)
    done = post(
        manager,
        resolve,
        {
            "record": "Agreed.",
            "outcome": "Assessment opened.",
            "learning": "Talk sooner.",
            "themes": ["neglect", "supervision"],
            "version": str(case.version),
        },
    )
    assert done.status_code == 302
    db.session.refresh(case)
    assert not case.closed and case.closing_status == "proposed"  # until CSC confirms
    html = manager.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "The case closes once someone from another agency involved confirms it" in html
    assert "A closing is proposed" in html and "Confirm: record that it is resolved" not in html
    other = as_user(world["csc_manager"])
    assert "Confirm: record that it is resolved" in other.get(f"/cases/{case.id}").get_data(
        as_text=True
    )
    confirmed = post(
        other,
        f"/cases/{case.id}/closing/confirm",
        {"version": str(case.version)},
        token_from=f"/cases/{case.id}",
    )
    assert confirmed.status_code == 302
    db.session.refresh(case)
    assert case.closed and case.outcome_kind == "resolved"
    html = manager.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Neglect, Supervision" in html and "Talk sooner." in html
    assert "What you can do now" not in html


def test_an_action_the_user_may_not_take_is_forbidden(world, case, as_user: Client) -> None:
    response = as_user(world["health_manager"]).get(f"/cases/{case.id}/actions/resolve")
    assert response.status_code == 403
    assert (
        as_user(world["csc_practitioner"]).get(f"/cases/{case.id}/actions/fly").status_code == 404
    )


def test_the_diagram_marks_the_current_level_in_words(world, case, as_user: Client) -> None:
    html = as_user(world["csc_practitioner"]).get(f"/cases/{case.id}").get_data(as_text=True)
    svg = html[
        html.index('<svg class="app-diagram"') : html.index("</svg>", html.index("app-diagram"))
    ]
    assert "Level 1 – current level" in svg
    assert 'stroke-width="6"' in svg
    assert 'role="img"' in svg and "<desc" in svg
    assert "Practitioner to practitioner (5 working days) <strong>– current level</strong>" in html


def test_the_timeline_says_what_happened_in_sentences_with_names(
    world, now, case, as_user: Client
) -> None:
    due = datetime(2026, 12, 9, 17, tzinfo=ZoneInfo("Europe/London"))
    timescales.propose_timescale(
        db.session(), service_context(now), world["health_practitioner"].id, case.id,
        due_at=due, reason="both available next week", expected_version=case.version,
    )  # fmt: skip
    factories.escalate(world, now + timedelta(hours=1), case)
    page = as_user(world["csc_manager"]).get(f"/cases/{case.id}").get_data(as_text=True)
    timeline = page[page.index('id="timeline"') :]
    assert (
        "Csc Practitioner raised the disagreement at level 1: Practitioner to practitioner" in page
    )
    assert "Health Practitioner proposed 9 December 2026: both available next week" in timeline
    assert "Csc Practitioner escalated it to the first-line managers" in timeline
    assert "@example.org" not in timeline and "practitioners" not in timeline


def test_accepting_a_timescale_that_changed_says_what_changed(
    world, now, case, as_user: Client
) -> None:
    due = datetime(2026, 12, 9, 17, tzinfo=ZoneInfo("Europe/London"))
    timescales.propose_timescale(
        db.session(), service_context(now), world["csc_practitioner"].id, case.id,
        due_at=due, reason="after the meeting", expected_version=case.version,
    )  # fmt: skip
    db.session.refresh(case)
    seen = case.version  # Priya opens the case; meanwhile Sam adds a record.
    case_service.add_record(
        db.session(), service_context(now), world["csc_practitioner"].id, case.id,
        kind="note", text="Chronology sent.",
    )  # fmt: skip
    priya = as_user(world["health_practitioner"])
    response = post(
        priya, f"/cases/{case.id}/timescale/accept", {"version": str(seen)},
        token_from=f"/cases/{case.id}",
    )  # fmt: skip
    page = priya.get(response.headers["Location"]).get_data(as_text=True)
    assert "This case changed while you were on this page: Csc Practitioner added a note" in page
    assert "version" not in page.split("This case changed")[1].split("</")[0]
