"""Each service: what it writes, who may call it, and that a refusal writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AuditEvent, Case, Outbox, Record, Step
from resolution.services import cases, history, timescales
from resolution.services.errors import Conflict, Forbidden, Invalid, NotFound
from tests import factories


def counts() -> tuple[int, int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(t)) or 0
        for t in (Case, Step, Record, AuditEvent, Outbox)
    )


def test_raising_a_case_opens_level_one_with_a_five_working_day_clock(world, now) -> None:
    case = factories.make_case(world, now)
    assert case.reference == "RC-000001"
    assert case.state == "practitioners" and not case.closed
    step = case.current_step
    # Monday 2 March 09:00 + 5 working days = Monday 9 March, 17:00 GMT.
    assert step.due_at.isoformat() == "2026-03-09T17:00:00+00:00"
    assert step.timescale_status == "default"
    assert {p.user.email for p in case.parties} == {
        world["csc_practitioner"].email,
        world["health_practitioner"].email,
    }
    assert sorted(ca.agency.code for ca in case.agencies) == ["CSC", "HEALTH"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.case_ref.is_not(None))).one()
    assert (event.action, event.to_state, event.case_ref) == (
        "raised",
        "practitioners",
        "RC-000001",
    )


def test_raising_tells_the_other_party_and_the_agencies_leads_but_not_the_raiser(
    world, now
) -> None:
    case = factories.make_case(world, now)
    to = {o.to_email for o in db.session.scalars(select(Outbox))}
    assert to == {world[n].email for n in ("health_practitioner", "csc_lead", "health_lead")}
    for message in db.session.scalars(select(Outbox)):
        assert "CS-123456" not in message.body and "threshold" not in message.body
        assert f"http://resolution.test/cases/{case.id}" in message.body


def test_the_urgent_route_starts_at_the_leads_on_a_24_hour_clock(world, now) -> None:
    risk = cases.ImmediateRisk(
        referral_made=True, referred_to="Emergency Duty Team", at=now - timedelta(hours=1)
    )
    case = factories.make_case(world, now, immediate_risk=risk)
    assert case.urgent and case.state == "leads"
    assert case.current_step.due_at == now + timedelta(hours=24)
    assert case.referred_to == "Emergency Duty Team"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"child_ref": "Jane Smith"}, "child_ref"),
        ({"category": "gossip"}, "category"),
        ({"summary": "   "}, "summary"),
        ({"summary": "x" * 4001}, "summary"),
        ({"with_agencies": ["NOPE"]}, "with_agencies"),
        ({"with_agencies": ["CSC"]}, "with_agencies"),
        ({"with_agencies": []}, "with_agencies"),
        ({"with_people": ["nobody@example.org"]}, "with_people"),
        ({"with_people": ["police_practitioner@example.org"]}, "with_people"),
        ({"workflow": "no-such-process"}, "workflow"),
        ({"immediate_risk": cases.ImmediateRisk(referral_made=True)}, "immediate_risk.referred_to"),
    ],
)
def test_bad_input_when_raising_is_refused_by_field_and_writes_nothing(
    world, now, change, field
) -> None:
    before = counts()
    args = {
        "child_ref": "CS-1",
        "category": "threshold",
        "summary": "Disagreement",
        "with_agencies": ["HEALTH"],
        "with_people": [],
        **change,
    }
    with pytest.raises(Invalid) as caught:
        cases.raise_case(db.session(), service_context(now), world["csc_practitioner"].id, **args)
    assert field in caught.value.fields
    assert counts() == before


def test_auditors_and_admins_cannot_raise(world, now) -> None:
    for who in ("auditor", "admin", "partnership"):
        with pytest.raises(Forbidden):
            factories.make_case(world, now, by=who)


def test_a_record_is_shared_with_the_other_parties_and_acknowledged_once(world, now) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now + timedelta(hours=1))
    record = cases.add_record(
        db.session(),
        ctx,
        world["health_practitioner"].id,
        case.id,
        kind="discussion",
        text="We spoke.",
    )
    assert record.step_number == 1
    mails = db.session.scalars(select(Outbox).where(Outbox.kind == "record_added")).all()
    assert [m.to_email for m in mails] == [world["csc_practitioner"].email]
    cases.acknowledge(db.session(), ctx, world["csc_practitioner"].id, record.id)
    cases.acknowledge(db.session(), ctx, world["csc_practitioner"].id, record.id)
    assert [a.user.email for a in record.acknowledgements] == [world["csc_practitioner"].email]
    on_case = (
        select(func.count()).select_from(AuditEvent).where(AuditEvent.case_ref == case.reference)
    )
    assert db.session.scalar(on_case) == 3


def test_an_action_record_needs_its_own_deadline_in_the_future(world, now) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    with pytest.raises(Invalid, match="action_due"):
        cases.add_record(
            db.session(),
            ctx,
            world["csc_practitioner"].id,
            case.id,
            kind="action",
            text="Send chronology",
        )
    with pytest.raises(Invalid, match="future"):
        cases.add_record(
            db.session(),
            ctx,
            world["csc_practitioner"].id,
            case.id,
            kind="action",
            text="Send",
            action_due=now,
        )
    rec = cases.add_record(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        case.id,
        kind="action",
        text="Send",
        action_due=now + timedelta(days=2),
    )
    assert rec.action_due_at == now + timedelta(days=2)


def test_people_outside_the_case_cannot_see_or_write_to_it(world, now) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    with pytest.raises(NotFound):
        cases.add_record(
            db.session(), ctx, world["police_practitioner"].id, case.id, kind="note", text="hello"
        )
    with pytest.raises(NotFound):
        cases.add_record(
            db.session(), ctx, world["police_lead"].id, case.id, kind="note", text="hello"
        )
    with pytest.raises(Forbidden):
        cases.add_record(db.session(), ctx, world["auditor"].id, case.id, kind="note", text="hello")


def test_a_timescale_is_agreed_only_by_a_party_of_another_agency(world, now) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    due = now + timedelta(days=3)
    timescales.propose_timescale(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        case.id,
        due_at=due,
        reason="Chronology first",
    )
    assert case.current_step.timescale_status == "proposed"
    with pytest.raises(Forbidden, match="another agency"):
        timescales.accept_timescale(db.session(), ctx, world["csc_practitioner"].id, case.id)
    with pytest.raises(NotFound):  # not a party, and a practitioner sees only their own cases
        timescales.accept_timescale(db.session(), ctx, world["police_practitioner"].id, case.id)
    timescales.accept_timescale(db.session(), ctx, world["health_practitioner"].id, case.id)
    step = db.session.get(Case, case.id).current_step
    assert step.timescale_status == "agreed" and step.due_at == due
    assert (step.agreed_proposer.email, step.agreed_by.email) == (
        world["csc_practitioner"].email,
        world["health_practitioner"].email,
    )
    with pytest.raises(Conflict, match="no timescale has been proposed"):
        timescales.accept_timescale(db.session(), ctx, world["health_practitioner"].id, case.id)


def test_a_timescale_in_the_past_is_refused(world, now) -> None:
    case = factories.make_case(world, now)
    with pytest.raises(Invalid, match="due_at"):
        timescales.propose_timescale(
            db.session(),
            service_context(now),
            world["csc_practitioner"].id,
            case.id,
            due_at=now - timedelta(minutes=1),
            reason="late",
        )


def test_a_stale_version_is_a_conflict_and_changes_nothing(world, now) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    stale = case.version
    cases.add_record(
        db.session(), ctx, world["health_practitioner"].id, case.id, kind="note", text="moved on"
    )
    before = counts()
    with pytest.raises(Conflict, match="changed since you loaded it"):
        cases.take_action(
            db.session(),
            ctx,
            world["csc_practitioner"].id,
            case.id,
            "escalate",
            record="up",
            expected_version=stale,
        )
    assert counts() == before
    assert db.session.get(Case, case.id).state == "practitioners"


def test_an_action_not_allowed_at_this_level_is_a_conflict(world, now) -> None:
    case = factories.make_case(world, now)
    with pytest.raises(Conflict, match="cannot be taken at level 1"):
        cases.take_action(
            db.session(),
            service_context(now),
            world["csc_practitioner"].id,
            case.id,
            "refer",
            record="x",
            expected_version=case.version,
            outcome={"text": "y"},
        )


def test_an_unknown_action_is_not_found(world, now) -> None:
    case = factories.make_case(world, now)
    with pytest.raises(NotFound):
        cases.take_action(
            db.session(),
            service_context(now),
            world["csc_practitioner"].id,
            case.id,
            "teleport",
            record="x",
            expected_version=case.version,
        )


def test_escalating_needs_a_written_record(world, now) -> None:
    case = factories.make_case(world, now)
    with pytest.raises(Invalid, match="record"):
        cases.take_action(
            db.session(),
            service_context(now),
            world["csc_practitioner"].id,
            case.id,
            "escalate",
            record=" ",
            expected_version=case.version,
        )


def test_a_practitioner_cannot_resolve_at_the_managers_level(world, now) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    cases.take_action(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        case.id,
        "escalate",
        record="up",
        expected_version=1,
    )
    case = db.session.get(Case, case.id)
    with pytest.raises(Forbidden):
        cases.take_action(
            db.session(),
            ctx,
            world["csc_practitioner"].id,
            case.id,
            "resolve",
            record="done",
            expected_version=case.version,
            outcome={"text": "agreed"},
        )


def test_closing_needs_an_outcome_and_a_closed_case_accepts_nothing(world, now) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    with pytest.raises(Invalid, match="outcome.text"):
        cases.take_action(
            db.session(),
            ctx,
            world["csc_practitioner"].id,
            case.id,
            "resolve",
            record="done",
            expected_version=1,
        )
    cases.take_action(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        case.id,
        "resolve",
        record="done",
        expected_version=1,
        outcome={"text": "agreed"},
    )
    case = factories.agree(now, case.id)  # Health confirms
    assert case.closed and case.outcome_kind == "resolved" and case.outcome_level == "practitioners"
    assert case.current_step is None and case.steps[-1].ended_at == now
    before = counts()
    with pytest.raises(Conflict, match="closed"):
        cases.add_record(
            db.session(), ctx, world["csc_practitioner"].id, case.id, kind="note", text="more"
        )
    with pytest.raises(Conflict, match="closed"):
        cases.take_action(
            db.session(),
            ctx,
            world["csc_practitioner"].id,
            case.id,
            "withdraw",
            record="x",
            expected_version=case.version,
            outcome={"text": "y"},
        )
    assert counts() == before


def test_the_raiser_may_withdraw_at_any_level(world, now) -> None:
    case = factories.make_case(world, now)
    ctx = service_context(now)
    cases.take_action(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        case.id,
        "escalate",
        record="up",
        expected_version=1,
    )
    case = cases.take_action(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        case.id,
        "withdraw",
        record="no longer needed",
        expected_version=db.session.get(Case, case.id).version,
        outcome={"text": "withdrawn"},
    )
    assert case.outcome_kind == "withdrawn" and case.outcome_level == "managers"


def test_unknown_learning_themes_are_refused(world, now) -> None:
    case = factories.make_case(world, now)
    with pytest.raises(Invalid, match="learning.themes"):
        cases.take_action(
            db.session(),
            service_context(now),
            world["csc_practitioner"].id,
            case.id,
            "resolve",
            record="ok",
            expected_version=1,
            outcome={"text": "ok"},
            learning={"text": "t", "themes": ["astrology"]},
        )


def test_the_leeds_process_end_to_end_through_every_level(world, now: datetime) -> None:
    t = now
    case = factories.make_case(world, t)
    ids = case.id

    def step(hours: float):
        nonlocal t
        t = t + timedelta(hours=hours)
        return service_context(t)

    cases.add_record(
        db.session(),
        step(1),
        world["health_practitioner"].id,
        ids,
        kind="discussion",
        text="Talked it through.",
    )
    timescales.propose_timescale(
        db.session(),
        step(1),
        world["health_practitioner"].id,
        ids,
        due_at=t + timedelta(days=2),
        reason="Need the GP's view",
    )
    timescales.accept_timescale(db.session(), step(1), world["csc_practitioner"].id, ids)
    version = db.session.get(Case, ids).version
    cases.take_action(
        db.session(),
        step(24),
        world["csc_practitioner"].id,
        ids,
        "escalate",
        record="Still disagree.",
        expected_version=version,
    )
    version = db.session.get(Case, ids).version
    cases.take_action(
        db.session(),
        step(24),
        world["health_manager"].id,
        ids,
        "escalate",
        record="Managers disagree.",
        expected_version=version,
    )
    version = db.session.get(Case, ids).version
    cases.take_action(
        db.session(),
        step(24),
        world["csc_lead"].id,
        ids,
        "escalate",
        record="To the partnership.",
        expected_version=version,
    )
    version = db.session.get(Case, ids).version
    final = cases.take_action(
        db.session(),
        step(24),
        world["partnership"].id,
        ids,
        "resolve",
        record="Panel decided.",
        expected_version=version,
        outcome={"text": "Assessment to start."},
        learning={"text": "Escalate sooner.", "themes": ["supervision"]},
    )
    assert final.closed and final.outcome_level == "partnership"
    assert [s.level for s in final.steps] == ["practitioners", "managers", "leads", "partnership"]
    assert all(s.ended_at is not None for s in final.steps)
    actions = [
        e.action
        for e in history.events_after(db.session(), service_context(), 0, 100)
        if e.case_ref == final.reference
    ]
    assert actions == [
        "raised",
        "record_added",
        "timescale_proposed",
        "timescale_agreed",
        "escalate",
        "escalate",
        "escalate",
        "resolve",
    ]
    assert history.verify_chain(db.session(), service_context()).ok


def test_the_hours_based_process_end_to_end(world, now) -> None:
    case = factories.make_case(world, now, workflow="hours-escalation")
    assert case.current_step.due_at == now + timedelta(hours=48)
    ctx = service_context(now + timedelta(hours=2))
    cases.take_action(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        case.id,
        "escalate",
        record="up",
        expected_version=1,
    )
    case = db.session.get(Case, case.id)
    # Stage 2 is five working days, ending at this partnership's 17:30.
    assert case.current_step.due_at.isoformat() == "2026-03-09T17:30:00+00:00"
    case = cases.take_action(
        db.session(),
        ctx,
        world["health_manager"].id,
        case.id,
        "escalate",
        record="up",
        expected_version=case.version,
    )
    assert case.state == "senior-managers"
    assert case.current_step.due_at == ctx.now + timedelta(hours=48)
    case = cases.take_action(
        db.session(),
        ctx,
        world["health_lead"].id,
        case.id,
        "escalate",
        record="up",
        expected_version=case.version,
    )
    case = cases.take_action(
        db.session(),
        ctx,
        world["partnership"].id,
        case.id,
        "resolve",
        record="chaired meeting",
        expected_version=case.version,
        outcome={"text": "agreed plan"},
    )
    assert case.outcome_level == "independent-chair"
