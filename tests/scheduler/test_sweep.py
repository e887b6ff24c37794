"""The sweep flags overdue and due-soon items once and the right people get one e-mail each."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AuditEvent, Case, Outbox, Record, Step
from resolution.services import cases, history
from resolution.services.core import UnitOfWork
from resolution.services.mailer import send_pending
from resolution.services.sweep import sweep

from .. import factories
from .conftest import SmtpServer

# leeds-pcrp, level 1: overdue and due soon go to the parties; overdue also to the agencies' leads.
PARTIES = ["csc_practitioner@example.org", "health_practitioner@example.org"]
LEADS = ["csc_lead@example.org", "health_lead@example.org"]


def _step(case_id: int) -> Step:
    return db.session.scalars(select(Step).where(Step.case_id == case_id, Step.number == 1)).one()


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _drain(smtp: SmtpServer, now: datetime) -> None:
    """Send what raising the cases queued and forget it, so a test sees only the sweep's mail."""
    send_pending(db.session(), service_context(now), smtp.settings)
    smtp.mailbox.clear()


def test_overdue_step_emails_each_right_person_once(
    app: Flask, world: factories.World, now: datetime, smtp_server: SmtpServer
) -> None:
    case = factories.make_case(world, now)
    _drain(smtp_server, now)
    due = _step(case.id).due_at
    late = due + timedelta(minutes=1)

    just_before = due - timedelta(seconds=1)
    only_due_soon = sweep(db.session(), service_context(just_before))
    assert only_due_soon.flagged_overdue == 0  # it is only due soon
    _drain(smtp_server, just_before)
    result = sweep(db.session(), service_context(late))
    assert result.flagged_overdue == 1
    assert send_pending(db.session(), service_context(late), smtp_server.settings) == (4, 0)

    assert smtp_server.mailbox.recipients() == sorted(PARTIES + LEADS)
    for mail in smtp_server.mailbox.items:
        assert mail.subject == f"{case.reference}: overdue at level 1"
        assert f"http://resolution.test/cases/{case.id}" in mail.body
        assert case.reference in mail.body
        assert "5pm on 9 March 2026" in mail.body
        # Reference only: nothing the agencies wrote about the child.
        assert case.child_ref not in mail.body and case.summary not in mail.body
    step = _step(case.id)
    assert step.overdue_at == late and step.went_overdue
    (event,) = _events("step_overdue")
    assert event.actor == "scheduler" and event.case_ref == case.reference
    assert event.payload == {"step": 1, "level": "practitioners", "due_at": due.isoformat()}
    assert db.session.get(Case, case.id).version == case.version  # the sweep does not bump it
    assert history.verify_chain(db.session(), service_context()).ok

    # A second sweep, later still, finds nothing new and nothing more is sent.
    again = late + timedelta(hours=3)
    assert sweep(db.session(), service_context(again)).flagged == 0
    assert send_pending(db.session(), service_context(again), smtp_server.settings) == (0, 0)
    assert len(smtp_server.mailbox.items) == 4
    assert len(_events("step_overdue")) == 1


def test_due_soon_warns_the_parties_then_overdue_follows(
    app: Flask, world: factories.World, now: datetime, smtp_server: SmtpServer
) -> None:
    case = factories.make_case(world, now)
    _drain(smtp_server, now)
    step = _step(case.id)
    assert step.warn_at < step.due_at
    assert sweep(db.session(), service_context(step.warn_at - timedelta(minutes=1))).flagged == 0

    warned = sweep(db.session(), service_context(step.warn_at))
    assert (warned.warned_due_soon, warned.flagged_overdue) == (1, 0)
    send_pending(db.session(), service_context(step.warn_at), smtp_server.settings)
    assert smtp_server.mailbox.recipients() == PARTIES
    assert all("due soon" in m.subject for m in smtp_server.mailbox.items)
    assert all("by 5pm on 9 March 2026" in m.body for m in smtp_server.mailbox.items)
    assert sweep(db.session(), service_context(step.warn_at + timedelta(hours=1))).flagged == 0

    smtp_server.mailbox.clear()
    late = step.due_at + timedelta(seconds=1)
    result = sweep(db.session(), service_context(late))
    assert (result.warned_due_soon, result.flagged_overdue) == (0, 1)
    send_pending(db.session(), service_context(late), smtp_server.settings)
    assert smtp_server.mailbox.recipients() == sorted(PARTIES + LEADS)
    assert len(_events("step_due_soon")) == 1 and len(_events("step_overdue")) == 1


def test_a_missed_warning_is_not_sent_once_the_step_is_overdue(
    app: Flask, world: factories.World, now: datetime
) -> None:
    case = factories.make_case(world, now)
    result = sweep(db.session(), service_context(_step(case.id).due_at + timedelta(days=2)))
    assert (result.flagged_overdue, result.warned_due_soon) == (1, 0)


def test_overdue_agreed_action_is_flagged_on_open_cases_only(
    app: Flask, world: factories.World, now: datetime, smtp_server: SmtpServer
) -> None:
    ctx = service_context(now)
    open_case = factories.make_case(world, now)
    closed_case = factories.make_case(world, now, child_ref="CS-654321")
    by = now + timedelta(days=1)
    action = cases.add_record(
        db.session(),
        ctx,
        world["health_practitioner"].id,
        open_case.id,
        kind="action",
        text="Send the chronology.",
        action_due=by,
    )
    cases.add_record(
        db.session(),
        ctx,
        world["health_practitioner"].id,
        closed_case.id,
        kind="action",
        text="Share the plan.",
        action_due=by,
    )
    cases.add_record(
        db.session(),
        ctx,
        world["health_practitioner"].id,
        open_case.id,
        kind="note",
        text="A note.",
    )
    closed = db.session.get(Case, closed_case.id)
    cases.take_action(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        closed.id,
        "withdraw",
        record="Withdrawn.",
        expected_version=closed.version,
        outcome={"text": "Sorted out between us."},
    )
    _drain(smtp_server, now)

    late = by + timedelta(minutes=5)
    result = sweep(db.session(), service_context(late))
    assert (result.actions_overdue, result.flagged_overdue) == (1, 0)
    assert db.session.get(Record, action.id).overdue_at == late
    (event,) = _events("action_overdue")
    assert event.case_ref == open_case.reference and event.payload["record"] == action.id
    send_pending(db.session(), service_context(late), smtp_server.settings)
    assert smtp_server.mailbox.recipients() == sorted(PARTIES + LEADS)
    for mail in smtp_server.mailbox.items:
        assert mail.subject == f"{open_case.reference}: an agreed action is overdue"
        assert "Send the chronology" not in mail.body  # the record's text stays on the case
        assert "marks it as done on the case" in mail.body
    assert sweep(db.session(), service_context(late + timedelta(hours=1))).actions_overdue == 0


def test_agreed_action_due_soon_is_warned_once(
    app: Flask, world: factories.World, now: datetime
) -> None:
    ctx = service_context(now)
    case = factories.make_case(world, now)
    # Due Wednesday 17:00; leeds-pcrp warns one working day before: Tuesday 17:00.
    by = datetime.fromisoformat("2026-03-04T17:00:00+00:00")
    cases.add_record(
        db.session(),
        ctx,
        world["csc_practitioner"].id,
        case.id,
        kind="action",
        text="Visit.",
        action_due=by,
    )
    assert (
        sweep(db.session(), service_context(by - timedelta(days=1, minutes=1))).actions_due_soon
        == 0
    )
    assert sweep(db.session(), service_context(by - timedelta(days=1))).actions_due_soon == 1
    assert sweep(db.session(), service_context(by - timedelta(hours=2))).actions_due_soon == 0
    outbox = db.session.scalars(select(Outbox).where(Outbox.kind == "action_due_soon")).all()
    assert sorted(o.to_email for o in outbox) == PARTIES
    assert sweep(db.session(), service_context(by + timedelta(seconds=1))).actions_overdue == 1


def test_ended_steps_are_not_flagged_and_large_sweeps_go_in_chunks(
    app: Flask, world: factories.World, now: datetime
) -> None:
    made = [factories.make_case(world, now, child_ref=f"CS-{i:06d}") for i in range(5)]
    first = db.session.get(Case, made[0].id)
    factories.escalate(world, now + timedelta(days=1), first)
    late = _step(made[1].id).due_at + timedelta(minutes=1)
    result = sweep(db.session(), service_context(late), chunk=2)
    # Four level-1 steps still open; case 1's level-1 step ended, its level-2 step is not due yet.
    assert result.flagged_overdue == 4 and result.chunks >= 3
    assert {e.case_ref for e in _events("step_overdue")} == {c.reference for c in made[1:]}


def test_two_sweeps_racing_flag_each_item_once(
    app: Flask, world: factories.World, now: datetime
) -> None:
    made = [factories.make_case(world, now, child_ref=f"CS-{i:06d}") for i in range(6)]
    late = _step(made[0].id).due_at + timedelta(minutes=1)
    before = db.session.scalar(select(func.count()).select_from(Outbox))
    db.session.remove()
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(sweep(db.session(), service_context(late), chunk=2).flagged)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(results)[1] > 0 and sum(results) == 6
    assert len(_events("step_overdue")) == 6
    assert len({e.case_ref for e in _events("step_overdue")}) == 6
    queued = db.session.scalars(select(Outbox).where(Outbox.kind == "overdue")).all()
    assert len(queued) == 6 * 4
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == before + 24
    assert history.verify_chain(db.session(), service_context()).ok


def _sweep_in_process(url: str, at: str, barrier, results) -> None:
    """Run one sweep in a process of its own, starting together with the other."""
    from resolution import create_app

    other = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with other.app_context():
        ctx = service_context(datetime.fromisoformat(at))
        barrier.wait(timeout=60)
        results.put(sweep(db.session(), ctx, chunk=1).flagged)
        db.engine.dispose()


def test_two_sweeps_racing_from_two_processes_flag_each_item_once(
    app: Flask, world: factories.World, now: datetime
) -> None:
    made = [factories.make_case(world, now, child_ref=f"CS-{i:06d}") for i in range(8)]
    late = _step(made[0].id).due_at + timedelta(minutes=1)
    db.session.remove()
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [
        spawn.Process(target=_sweep_in_process, args=(url, late.isoformat(), barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    flagged = [results.get(timeout=5) for _ in workers]
    assert sum(flagged) == 8
    assert sorted(e.case_ref for e in _events("step_overdue")) == sorted(c.reference for c in made)
    assert len(db.session.scalars(select(Outbox).where(Outbox.kind == "overdue")).all()) == 8 * 4
    assert history.verify_chain(db.session(), service_context()).ok


def test_a_sweep_meeting_a_writer_on_the_same_step_neither_deadlocks_nor_flags_it(
    app: Flask, world: factories.World, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer escalates an overdue case and, holding its rows, pauses just before it takes
    the chain's head; a sweep starts in that pause and reaches the same step. On PostgreSQL
    the sweep must wait for the writer without holding the head (else each waits for the
    other and the database kills one as a deadlock); on SQLite the writer holds the head
    from its start and the sweep waits for it. Either way: no error, the step ended by the
    escalation is not flagged overdue, the other cases are flagged once, the chain verifies."""
    made = [factories.make_case(world, now, child_ref=f"CS-{i:06d}") for i in range(3)]
    late = _step(made[0].id).due_at + timedelta(minutes=1)
    target = made[0].id
    db.session.remove()
    paused, at_head, swept, errors = threading.Event(), threading.Event(), threading.Event(), []
    take_head = UnitOfWork.lock
    on_postgres = db.engine.dialect.name == "postgresql"

    def sweep_has_met_the_writer() -> bool:
        """PostgreSQL: the sweep has passed over the writer's rows, or waits for one of its
        locks; SQLite: the sweep is taking the head the writer holds."""
        if not on_postgres:
            return at_head.is_set()
        if swept.is_set():
            return True
        with db.engine.connect() as connection:
            waiting = connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        return bool(waiting)

    def wait_for_the_sweep() -> None:
        deadline = time.monotonic() + 120
        while not sweep_has_met_the_writer():
            assert time.monotonic() < deadline, "gave up waiting for the sweep"
            time.sleep(0.05)

    def pausing(self: UnitOfWork) -> None:
        if threading.current_thread().name != "writer":
            at_head.set()
            take_head(self)
        elif self.events:  # PostgreSQL: the head is taken last, the case's rows are held
            paused.set()
            wait_for_the_sweep()
            take_head(self)
        else:  # SQLite: the head (the database's write lock) is taken first
            take_head(self)
            paused.set()
            wait_for_the_sweep()

    monkeypatch.setattr(UnitOfWork, "lock", pausing)

    def writer() -> None:
        try:
            with app.app_context():
                cases.take_action(
                    db.session(),
                    service_context(late),
                    world["csc_practitioner"].id,
                    target,
                    "escalate",
                    record="Still not agreed.",
                    expected_version=None,
                )
        except BaseException as exc:
            errors.append(exc)

    def sweeper() -> None:
        try:
            with app.app_context():
                assert paused.wait(timeout=120)
                sweep(db.session(), service_context(late), chunk=1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            swept.set()

    threads = [threading.Thread(target=writer, name="writer"), threading.Thread(target=sweeper)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert paused.is_set()
    assert not errors, errors
    assert _step(target).ended_at == late and _step(target).overdue_at is None
    flagged = sorted(e.case_ref for e in _events("step_overdue"))
    assert flagged == sorted(c.reference for c in made[1:])
    assert db.session.get(Case, target).state == "managers"
    assert history.verify_chain(db.session(), service_context()).ok
