"""Every agency on a case reaches someone: its people named, else its designated leads, else
its contact address; one with nobody is refused. People and agencies join an open case later,
and a manager or lead hands a person's part to a colleague. The e-mails are caught by a real
SMTP server and read here."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AuditEvent, Case, CaseParty, Outbox
from resolution.services import accounts, cases, parties
from resolution.services.errors import Conflict, Forbidden, Invalid, NotFound
from resolution.services.mailer import send_pending
from tests import factories
from tests.scheduler.conftest import SmtpServer, smtp_server  # noqa: F401 (a fixture)


def _delivered(server: SmtpServer, at: datetime) -> dict[str, list[str]]:
    """Send what is queued, then return each recipient's messages (subject and body)."""
    send_pending(db.session(), service_context(at), server.settings, clock=lambda: at)
    got: dict[str, list[str]] = {}
    for item in server.mailbox.items:
        got.setdefault(item.to, []).append(f"{item.subject}\n{item.body}")
    server.mailbox.clear()
    return got


def _written() -> tuple[int, int, int]:
    db.session.rollback()
    return tuple(
        int(db.session.scalar(select(func.count()).select_from(m)) or 0)
        for m in (Case, AuditEvent, Outbox)
    )


@pytest.fixture
def schools(world, now):
    """An agency whose only user is a practitioner: no designated lead, no contact address."""
    ctx = service_context(now)
    accounts.create_agency(db.session(), ctx, "SCHOOLS", "Schools")
    accounts.create_user(
        db.session(), ctx, email="tom@schools.example", name="Tom Walsh",
        agency="SCHOOLS", role="practitioner", password=None,
    )  # fmt: skip
    accounts.create_user(
        db.session(), ctx, email="ann@schools.example", name="Ann Lee",
        agency="SCHOOLS", role="practitioner", password=None,
    )  # fmt: skip
    return "SCHOOLS"


def test_an_agency_that_would_reach_nobody_is_refused_naming_whom_to_ask(
    world, now, schools
) -> None:
    before = _written()
    with pytest.raises(Invalid) as refused:
        factories.make_case(world, now, with_agencies=(schools,), with_people=())
    message = refused.value.fields["with_agencies"][0]
    assert "nobody at Schools would be told" in message
    assert world["admin"].email in message  # whom to ask
    assert _written() == before
    # Naming someone there, or giving the agency an address, lets it be raised.
    accounts.set_agency_contact(db.session(), service_context(now), schools, "Team@Schools.example")
    case = factories.make_case(world, now, with_agencies=(schools,), with_people=())
    assert {ca.agency.code for ca in case.agencies} == {"CSC", schools}


def test_an_agency_with_nobody_named_is_reached_through_its_leads_then_its_address(
    world,
    now,
    schools,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    police = factories.make_case(world, now, with_agencies=("POLICE",), with_people=())
    got = _delivered(smtp_server, now)
    assert world["police_lead"].email in got  # leads: told because nobody is named
    assert "has raised a professional disagreement" in got[world["police_lead"].email][0]
    assert world["police_practitioner"].email not in got
    accounts.set_agency_contact(db.session(), service_context(now), schools, "team@schools.example")
    school = factories.make_case(world, now, with_agencies=(schools,), with_people=())
    got = _delivered(smtp_server, now)
    assert "team@schools.example" in got and school.reference in got["team@schools.example"][0]
    assert "Dear Schools" in got["team@schools.example"][0]
    # The address stands for the agency on every change that tells the parties...
    cases.add_record(
        db.session(), service_context(now), world["csc_practitioner"].id, school.id,
        kind="note", text="We have asked the school nurse.",
    )  # fmt: skip
    assert "team@schools.example" in _delivered(smtp_server, now)
    # ... until someone of the agency is on the case.
    parties.add_parties(
        db.session(), service_context(now), world["csc_practitioner"].id, school.id,
        with_people=["tom@schools.example"],
    )  # fmt: skip
    got = _delivered(smtp_server, now)
    assert list(got) == ["tom@schools.example"]
    assert "has brought you into case" in got["tom@schools.example"][0]
    cases.add_record(
        db.session(), service_context(now), world["csc_practitioner"].id, school.id,
        kind="note", text="Tom is now with us.",
    )  # fmt: skip
    assert set(_delivered(smtp_server, now)) == {"tom@schools.example"}
    assert police.reference


def test_agencies_and_people_join_an_open_case_and_each_newcomer_is_told(
    world,
    now,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    case = factories.make_case(world, now)
    _delivered(smtp_server, now)
    later = now + timedelta(hours=2)
    ctx = service_context(later)
    with pytest.raises(NotFound):  # not on the case: it does not exist for them
        parties.add_parties(
            db.session(), ctx, world["police_lead"].id, case.id, with_agencies=["POLICE"]
        )
    with pytest.raises(Forbidden):  # sees it, but only reads
        parties.add_parties(
            db.session(), ctx, world["auditor"].id, case.id, with_agencies=["POLICE"]
        )
    changed = parties.add_parties(
        db.session(), ctx, world["health_manager"].id, case.id,
        with_agencies=["POLICE"], with_people=["csc_practitioner2@example.org"],
        expected_version=case.version,
    )  # fmt: skip
    assert {ca.agency.code for ca in changed.agencies} == {"CSC", "HEALTH", "POLICE"}
    police_row = next(ca for ca in changed.agencies if ca.agency.code == "POLICE")
    assert police_row.due_at == changed.current_step.due_at  # on the case's clock
    assert "csc_practitioner2@example.org" in [p.user.email for p in changed.parties]
    assert world["health_manager"].id not in [p.user_id for p in changed.parties]
    got = _delivered(smtp_server, later)
    assert set(got) == {"csc_practitioner2@example.org", world["police_lead"].email}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "parties_added")).one()
    assert event.payload == {"agencies": ["POLICE"], "people": ["csc_practitioner2@example.org"]}
    assert event.actor == world["health_manager"].email
    # The police practitioner can now be named, and then sees the case.
    parties.add_parties(
        db.session(), ctx, world["police_lead"].id, case.id,
        with_people=["police_practitioner@example.org"],
    )  # fmt: skip
    assert "police_practitioner@example.org" in _delivered(smtp_server, later)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "with_agencies"),
        ({"with_agencies": ["NOPE"]}, "with_agencies"),
        ({"with_agencies": ["HEALTH"]}, "with_agencies"),  # on the case already
        ({"with_people": ["nobody@example.org"]}, "with_people"),
        ({"with_people": ["police_practitioner@example.org"]}, "with_people"),  # not on it
        ({"with_people": ["auditor@example.org"]}, "with_people"),
    ],
)
def test_adding_nothing_new_or_anyone_unknown_is_refused_and_writes_nothing(
    world, now, body, field
) -> None:
    case = factories.make_case(world, now)
    before = _written()
    with pytest.raises(Invalid) as refused:
        parties.add_parties(
            db.session(), service_context(now), world["csc_practitioner"].id, case.id, **body
        )
    assert field in refused.value.fields
    assert _written() == before


def test_a_manager_hands_a_persons_part_to_a_colleague_and_both_are_told(
    world,
    now,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    case = factories.make_case(world, now)
    _delivered(smtp_server, now)
    later = now + timedelta(days=1)
    ctx = service_context(later)
    leaving, joining = world["csc_practitioner"], world["csc_practitioner2"]

    def hand_over(by: str, **kw):
        args = {"from_email": leaving.email, "to_email": joining.email, "reason": "On leave."}
        return parties.hand_over(db.session(), ctx, world[by].id, case.id, **{**args, **kw})

    with pytest.raises(Forbidden):
        hand_over("health_manager")  # another agency's manager
    with pytest.raises(Forbidden):
        hand_over("csc_practitioner")  # a practitioner, if a party
    with pytest.raises(Invalid) as other_agency:
        hand_over("csc_manager", to_email=world["health_lead"].email)
    assert "to" in other_agency.value.fields
    with pytest.raises(Invalid) as not_party:
        hand_over("csc_manager", from_email=world["csc_lead"].email)
    assert "from" in not_party.value.fields
    with pytest.raises(Conflict):
        hand_over("csc_manager", expected_version=case.version - 1)
    changed = hand_over("csc_manager", expected_version=case.version)
    on_case = [p.user.email for p in changed.parties]
    assert joining.email in on_case and leaving.email not in on_case
    how = db.session.scalar(select(CaseParty.how).where(CaseParty.user_id == joining.id))
    assert how == "handover"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "handed_over")).one()
    assert event.actor == world["csc_manager"].email
    assert event.payload["from"] == leaving.email and event.payload["to"] == joining.email
    got = _delivered(smtp_server, later)
    assert set(got) == {leaving.email, joining.email}
    assert "to you: On leave." in got[joining.email][0]
    assert "you are no longer a party" in got[leaving.email][0]
    # The colleague acts from then on; the one who left no longer sees the case.
    cases.add_record(db.session(), ctx, joining.id, case.id, kind="note", text="Taking over.")
    with pytest.raises(NotFound):
        cases.add_record(db.session(), ctx, leaving.id, case.id, kind="note", text="Still here?")
