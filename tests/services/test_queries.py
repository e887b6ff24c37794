"""Reading a case for the doors: the answer holds what the case's rows hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from resolution.api.schemas import CaseOut, CaseSummaryOut
from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Acknowledgement, Case, CaseParty, Record, Step
from resolution.services import cases, queries, timescales
from resolution.services.errors import NotFound
from tests import factories


def _busy_case(world, now: datetime) -> int:
    """A case with records (one with an action due, one correcting another), an
    acknowledgement, an agreed timescale, an escalation and its closure with themes."""
    ctx = lambda minutes: service_context(now + timedelta(minutes=minutes))  # noqa: E731
    case = factories.make_case(world, now)
    sam, priya, manager = (
        world[n].id for n in ("csc_practitioner", "health_practitioner", "csc_manager")
    )
    first = cases.add_record(
        db.session(),
        ctx(1),
        sam,
        case.id,
        kind="discussion",
        text='We spoke: «notes», "quoted"\nand a new line.',
    )
    cases.add_record(
        db.session(),
        ctx(2),
        priya,
        case.id,
        kind="action",
        text="Send notes.",
        action_due=now + timedelta(days=2, hours=3),
    )
    cases.add_record(
        db.session(), ctx(3), sam, case.id, kind="note", text="Correction.", corrects=first.id
    )
    cases.acknowledge(db.session(), ctx(4), priya, first.id)
    timescales.propose_timescale(
        db.session(),
        ctx(5),
        priya,
        case.id,
        due_at=now + timedelta(days=9, minutes=7),
        reason="Leave.",
    )
    timescales.accept_timescale(db.session(), ctx(6), sam, case.id)
    version = db.session.get(Case, case.id).version
    cases.take_action(
        db.session(),
        ctx(7),
        sam,
        case.id,
        "escalate",
        record="Not agreed.",
        expected_version=version,
    )
    version = db.session.get(Case, case.id).version
    cases.take_action(db.session(),
        ctx(8), manager, case.id, "resolve", record="Agreed.", expected_version=version,
        outcome={"text": "A plan."}, learning={"text": "Sooner.", "themes": ["thresholds", "neglect"]},
    )  # fmt: skip
    factories.agree(ctx(8).now, case.id)  # Health confirms
    db.session.expire_all()
    return case.id


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _person(user) -> dict[str, str]:
    return {"name": user.name, "email": user.email, "agency": user.agency.code, "role": user.role}


def test_a_read_case_holds_what_its_rows_hold(world, now, ctx) -> None:
    case_id = _busy_case(world, now)
    read = queries.read_case(db.session(), ctx, world["csc_manager"], case_id)
    view = CaseOut().dump(read)
    case = db.session.get(Case, case_id)
    steps = db.session.scalars(
        select(Step).where(Step.case_id == case_id).order_by(Step.number)
    ).all()
    records = db.session.scalars(
        select(Record).where(Record.case_id == case_id).order_by(Record.id)
    ).all()

    assert (view["id"], view["reference"], view["version"], view["state"]) == (
        case.id, case.reference, case.version, case.state,
    )  # fmt: skip
    assert view["closed"] is True and view["step"] is None
    assert view["outcome"] == {
        "kind": "resolved",
        "level": "managers",
        "text": "A plan.",
        "at": _iso(case.closed_at),
    }
    assert view["learning"] == {"text": "Sooner.", "themes": ["neglect", "thresholds"]}
    assert view["raised_by"] == _person(case.raised_by)
    assert view["parties"] == [_person(p.user) for p in case.parties]
    assert view["agencies"] == [
        {"code": ca.agency.code, "name": ca.agency.name, "raising": ca.raising}
        for ca in case.agencies
    ]
    assert all(type(a["raising"]) is bool for a in view["agencies"])

    assert [s["number"] for s in view["steps"]] == [s.number for s in steps] == [1, 2]
    for shown, step in zip(view["steps"], steps, strict=True):
        for key in ("started_at", "due_at", "warn_at", "ended_at"):
            assert shown[key] == _iso(getattr(step, key)), key
            assert shown[key] is None or datetime.fromisoformat(shown[key]).tzinfo == UTC
        assert type(shown["went_overdue"]) is bool
    first = view["steps"][0]["timescale"]
    assert first["status"] == "agreed" and first["reason"] == "Leave."
    assert [p["email"] for p in first["agreed_by"]] == [
        world["health_practitioner"].email, world["csc_practitioner"].email,
    ]  # fmt: skip
    assert view["steps"][0]["due_at"] == _iso(now + timedelta(days=9, minutes=7))

    assert [r["id"] for r in view["records"]] == [r.id for r in records]
    for shown, record in zip(view["records"], records, strict=True):
        assert (shown["kind"], shown["text"], shown["step"], shown["corrects"]) == (
            record.kind, record.text, record.step_number, record.corrects_id,
        )  # fmt: skip
        assert shown["at"] == _iso(record.at)
        assert shown["action_due"] == _iso(record.action_due_at)
        assert shown["author"] == _person(record.author)
    assert view["records"][0]["text"] == 'We spoke: «notes», "quoted"\nand a new line.'
    ack = db.session.scalars(select(Acknowledgement)).one()
    assert view["records"][0]["acknowledged_by"] == [{**_person(ack.user), "at": _iso(ack.at)}]
    assert view["records"][1]["action_due"] == _iso(now + timedelta(days=2, hours=3))


def test_a_page_of_cases_shows_each_current_step(world, now, ctx) -> None:
    open_ids = [factories.make_case(world, now + timedelta(minutes=m)).id for m in range(3)]
    closed_id = _busy_case(world, now)
    found = queries.case_summaries(db.session(), ctx, [closed_id, *open_ids])
    views = CaseSummaryOut(many=True).dump(found)
    assert [v["id"] for v in views] == [closed_id, *open_ids]
    assert views[0]["step"] is None and views[0]["learning"]["themes"] == ["neglect", "thresholds"]
    for view, case_id in zip(views[1:], open_ids, strict=True):
        step = db.session.scalars(select(Step).where(Step.case_id == case_id)).one()
        assert view["step"]["due_at"] == _iso(step.due_at)
        assert view["step"]["stage"] == "practitioners"
        assert "steps" not in view and "records" not in view


def test_a_case_the_reader_may_not_see_is_not_found(world, now, ctx) -> None:
    case_id = factories.make_case(world, now).id
    with pytest.raises(NotFound):
        queries.read_case(db.session(), ctx, world["police_practitioner"], case_id)
    with pytest.raises(NotFound):
        queries.read_case(db.session(), ctx, world["csc_manager"], case_id + 1000)


def _counts(ctx, user, now: datetime) -> dict[str, int]:
    at = service_context(now)
    return queries.open_cases(db.session(), at, user, queries.OpenFilter()).counts


def test_the_overdue_counts_follow_every_change_and_every_clock_crossing(world, now, ctx) -> None:
    lead = world["csc_lead"]
    case = factories.make_case(world, now)
    assert _counts(ctx, lead, now) == {"open": 1, "overdue": 0, "due_soon": 0}
    step = db.session.scalars(select(Step).where(Step.case_id == case.id)).one()
    # No change between these reads: only the clock moves past the warning, then the due time.
    assert _counts(ctx, lead, step.warn_at) == {"open": 1, "overdue": 0, "due_soon": 1}
    after = step.due_at + timedelta(seconds=1)
    assert _counts(ctx, lead, after) == {"open": 1, "overdue": 1, "due_soon": 0}
    # A read at an earlier time than one already counted is counted for its own time.
    assert _counts(ctx, lead, now) == {"open": 1, "overdue": 0, "due_soon": 0}
    # A change (a second case) is counted at once, at the same instant as before.
    factories.make_case(world, after, child_ref="CS-222222")
    assert _counts(ctx, lead, after) == {"open": 2, "overdue": 1, "due_soon": 0}
    # Each scope has its own counts: another agency's lead sees neither case.
    assert _counts(ctx, world["police_lead"], after) == {"open": 0, "overdue": 0, "due_soon": 0}


def test_each_open_case_is_counted_once_whether_seen_through_the_agency_or_as_a_party(
    world, now, ctx
) -> None:
    case = factories.make_case(world, now)
    stored = db.session.get(Case, case.id)
    for name in ("csc_lead", "police_lead"):  # a party of an involved agency, and of another
        user = world[name]
        stored.parties.append(CaseParty(user=user, user_id=user.id, joined_at=now, how="named"))
    db.session.commit()
    step = db.session.scalars(select(Step).where(Step.case_id == case.id)).one()
    late = step.due_at + timedelta(seconds=1)
    for name in ("csc_lead", "police_lead"):
        assert _counts(ctx, world[name], late) == {"open": 1, "overdue": 1, "due_soon": 0}, name
        page = queries.open_cases(
            db.session(), service_context(late), world[name], queries.OpenFilter()
        )
        assert [r.id for r in page.rows] == [case.id] and page.total == 1
        ids, total = queries.list_cases(
            db.session(), service_context(late), world[name], queries.CaseFilter(overdue=True)
        )
        assert (ids, total) == ([case.id], 1)
    assert _counts(ctx, world["health_lead"], late)["overdue"] == 1
    assert _counts(ctx, world["police_manager"], late)["open"] == 0
