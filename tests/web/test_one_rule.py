"""The pages offer exactly what the services allow, and say what the case's clock is."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AccessLog, AuditEvent, Case, CaseParty, Record
from resolution.services import cases, timescales
from resolution.services.errors import ServiceError
from tests import factories

PEOPLE = (
    "csc_practitioner",
    "csc_practitioner2",
    "csc_manager",
    "csc_lead",
    "health_practitioner",
    "health_manager",
    "health_lead",
    "police_practitioner",
    "police_lead",
    "partnership",
    "auditor",
)


def _events() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _page(client: FlaskClient, case_id: int) -> str:
    response = client.get(f"/cases/{case_id}")
    return response.get_data(as_text=True) if response.status_code == 200 else ""


def test_an_urgent_case_says_its_24_hour_clock_on_its_page(world, now, as_user) -> None:
    risk = cases.ImmediateRisk(True, "Emergency Duty Team", now - timedelta(hours=1))
    case = factories.make_case(world, now, immediate_risk=risk)
    page = _page(as_user(world["csc_practitioner"]), case.id)
    assert "24 hours, the urgent route&#39;s clock for a child at immediate risk" in page
    assert "5 working days, as the process sets it" not in page
    assert "Timescale: 24 hours" in page  # the diagram's boxes
    assert "Yes: on a 24 hours clock" in page
    plain = factories.make_case(world, now, child_ref="CS-777777")
    assert "5 working days, as the process sets it" in _page(
        as_user(world["csc_practitioner"]), plain.id
    )


def _try(change, *args, **kwargs) -> bool:
    """Say whether a service call was allowed; a refused one must have written nothing."""
    before = _events()
    try:
        change(db.session(), *args, **kwargs)
    except ServiceError:
        db.session.rollback()
        assert _events() == before
        return False
    return True


def test_the_accept_button_is_shown_to_exactly_those_the_service_lets_accept(
    world, now, as_user
) -> None:
    case = factories.make_case(world, now)
    when = datetime.now(now.tzinfo) + timedelta(days=20)
    timescales.propose_timescale(
        db.session(),
        service_context(now),
        world["health_practitioner"].id,
        case.id,
        due_at=when,
        reason="Leave.",
    )
    shown = {
        name: "Accept the proposed timescale" in _page(as_user(world[name]), case.id)
        for name in PEOPLE
    }
    assert shown["csc_practitioner"] and not shown["health_practitioner"]
    ctx = service_context(datetime.now(now.tzinfo))
    for name in sorted(PEOPLE, key=lambda n: shown[n]):  # the refused first: they write nothing
        allowed = _try(timescales.accept_timescale, ctx, world[name].id, case.id)
        assert allowed == shown[name], name
        if allowed:
            break


def test_mark_as_read_is_offered_to_exactly_those_the_service_lets_acknowledge(
    world, now, as_user
) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    record = cases.add_record(
        db.session(), ctx, world["csc_practitioner"].id, case.id, kind="note", text="Seen."
    )
    for name in PEOPLE:
        offered = "Mark as read" in _page(as_user(world[name]), case.id)
        is_author = name == "csc_practitioner"
        allowed = not is_author and _try(cases.acknowledge, ctx, world[name].id, record.id)
        assert offered == allowed, name


def test_a_closed_case_offers_nothing_and_accepts_no_acknowledgement(world, now, as_user) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    record = cases.add_record(
        db.session(), ctx, world["csc_practitioner"].id, case.id, kind="note", text="Seen."
    )
    factories.resolve(world, now, case)
    page = _page(as_user(world["health_practitioner"]), case.id)
    assert "It accepts nothing more" in page
    assert "Mark as read" not in page and "What you can do now" not in page
    version = db.session.get(Case, case.id).version
    with pytest.raises(ServiceError, match="closed"):
        cases.acknowledge(db.session(), ctx, world["health_practitioner"].id, record.id)
    db.session.rollback()
    assert db.session.get(Case, case.id).version == version
    assert not db.session.get(Record, record.id).acknowledgements


def test_a_manager_party_from_another_agency_finds_the_case_in_their_list(
    world, now, as_user
) -> None:
    case = factories.make_case(world, now)
    manager = world["police_lead"]
    assert _page(as_user(manager), case.id) == ""  # not involved: not found
    # A party from an agency that is not (or no longer) named on the case.
    stored = db.session.get(Case, case.id)
    stored.parties.append(CaseParty(user=manager, user_id=manager.id, joined_at=now, how="named"))
    db.session.commit()
    client = as_user(manager)
    assert case.reference in _page(client, case.id)
    assert case.reference in client.get("/cases").get_data(as_text=True)


def test_a_proposal_whose_date_has_passed_is_offered_to_nobody(world, now, as_user) -> None:
    case = factories.make_case(world, now)
    timescales.propose_timescale(
        db.session(),
        service_context(now),
        world["health_practitioner"].id,
        case.id,
        due_at=now + timedelta(days=3),
        reason="Leave.",
    )
    later = service_context(now + timedelta(days=4))  # the pages run later still, at real time
    assert "Accept the proposed timescale" not in _page(as_user(world["csc_practitioner"]), case.id)
    with pytest.raises(ServiceError, match="has passed"):
        timescales.accept_timescale(db.session(), later, world["csc_practitioner"].id, case.id)


def test_the_lists_of_cases_are_each_one_row_of_the_access_log(world, now, as_user) -> None:
    factories.make_case(world, now)
    factories.make_case(world, now, child_ref="CS-222222")
    lead = as_user(world["csc_lead"])
    assert lead.get("/cases").status_code == 200
    assert lead.get("/overdue?show=all&level=practitioners").status_code == 200
    rows = [
        (r.what, r.target) for r in db.session.scalars(select(AccessLog).order_by(AccessLog.id))
    ]
    assert rows[-2:] == [
        ("cases_listed", "your cases"),
        ("overdue_viewed", "overdue?show=all&level=practitioners&sort=due&page=1&per_page=50"),
    ]
