"""The daily digest: a lead who chose it gets no e-mail per event about their agency's cases, but
one e-mail a day listing its overdue and due-soon cases (and only its own), once a day."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Outbox, Step, User
from resolution.scheduler import build_scheduler
from resolution.services import cases, digest
from resolution.services.errors import Forbidden
from resolution.services.mailer import send_pending
from resolution.services.sweep import sweep

from .. import factories
from .conftest import SmtpServer

LEAD = "health_lead@example.org"


def _due(case_id: int) -> datetime:
    return db.session.scalars(select(Step.due_at).where(Step.case_id == case_id)).one()


def _send(smtp: SmtpServer, at: datetime) -> list[str]:
    send_pending(db.session(), service_context(at), smtp.settings)
    return smtp.mailbox.recipients()


def test_a_lead_with_the_digest_gets_one_mail_a_day_of_their_agencys_late_cases(
    app: Flask, world: factories.World, now: datetime, smtp_server: SmtpServer
) -> None:
    digest.set_digest(db.session(), service_context(now), world["health_lead"].id, True)
    late = factories.make_case(world, now, child_ref="CS-111111")
    told = _send(smtp_server, now)
    assert "csc_lead@example.org" in told  # an ordinary change: the lead per event is told
    assert LEAD not in told  # the digest's lead waits for the digest
    smtp_server.mailbox.clear()

    soon_at = factories.working_day(now, 1)
    soon = factories.make_case(world, soon_at, child_ref="CS-222222")
    elsewhere = factories.make_case(
        world, now, with_agencies=("POLICE",), with_people=(), child_ref="CS-333333"
    )
    at = _due(late.id) + timedelta(minutes=1)
    assert _due(soon.id) > at  # still due soon, not overdue, when the digest goes
    sweep(db.session(), service_context(at))
    smtp_server.mailbox.clear()
    assert digest.send_digests(db.session(), service_context(at)) == 1
    send_pending(db.session(), service_context(at), smtp_server.settings)
    (mail,) = [m for m in smtp_server.mailbox.items if m.subject.startswith("Overdue and due")]
    assert mail.to == LEAD
    assert mail.subject == "Overdue and due soon at Community Health: 9 March 2026"
    overdue, due_soon = mail.body.split("Due soon (1):")
    assert "Overdue (1):" in overdue and late.reference in overdue
    assert "Was due by 5pm on 9 March 2026" in overdue
    assert f"http://resolution.test/cases/{late.id}" in overdue
    assert soon.reference in due_soon and "Due by 5pm on 10 March 2026" in due_soon
    assert f"http://resolution.test/cases/{soon.id}" in due_soon
    assert f"{late.reference} (Level 1: Practitioner to practitioner)" in overdue
    assert "http://resolution.test/overdue" in mail.body
    assert elsewhere.reference not in mail.body  # another agency's case is not theirs
    for case in (late, soon):  # the reference only: nothing the agencies wrote
        assert case.child_ref not in mail.body and case.summary not in mail.body
    # The sweep's overdue e-mail went to the other lead, not to the digest's.
    assert LEAD not in [m.to for m in smtp_server.mailbox.items if "overdue" in m.subject]
    assert "csc_lead@example.org" in [m.to for m in smtp_server.mailbox.items]

    # Run again the same day (even in the evening): nothing more.
    smtp_server.mailbox.clear()
    evening = at + timedelta(hours=5)
    assert digest.send_digests(db.session(), service_context(evening)) == 0
    assert send_pending(db.session(), service_context(evening), smtp_server.settings) == (0, 0)
    assert db.session.get(User, world["health_lead"].id).digest_sent_on.isoformat() == "2026-03-09"
    # The next day brings the next digest.
    assert digest.send_digests(db.session(), service_context(at + timedelta(days=1))) == 1


def test_an_urgent_case_still_reaches_the_digests_lead_at_once(
    app: Flask, world: factories.World, now: datetime, smtp_server: SmtpServer
) -> None:
    digest.set_digest(db.session(), service_context(now), world["health_lead"].id, True)
    risk = cases.ImmediateRisk(True, "Emergency Duty Team", now - timedelta(hours=1))
    urgent = factories.make_case(world, now, immediate_risk=risk)
    told = _send(smtp_server, now)
    assert LEAD in told
    assert any(
        m.subject.startswith(f"Urgent: {urgent.reference}") for m in smtp_server.mailbox.items
    )


def test_a_practitioner_cannot_choose_the_digest_and_a_lead_can_go_back(
    app: Flask, world: factories.World, now: datetime, smtp_server: SmtpServer
) -> None:
    with pytest.raises(Forbidden):
        digest.set_digest(db.session(), service_context(now), world["health_practitioner"].id, True)
    assert not db.session.get(User, world["health_practitioner"].id).digest
    lead = world["health_lead"].id
    digest.set_digest(db.session(), service_context(now), lead, True)
    digest.set_digest(db.session(), service_context(now), lead, False)
    factories.make_case(world, now)
    assert LEAD in _send(smtp_server, now)  # an e-mail for each change again
    assert digest.send_digests(db.session(), service_context(now)) == 0
    assert not db.session.scalars(select(Outbox).where(Outbox.kind == "digest")).all()


def test_the_digest_command_queues_the_days_digests(
    app: Flask, world: factories.World, now: datetime
) -> None:
    digest.set_digest(db.session(), service_context(now), world["health_lead"].id, True)
    case = factories.make_case(world, now)
    at = (_due(case.id) + timedelta(minutes=1)).isoformat()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["digest", "--now", at])
    assert first.exit_code == 0 and "queued 1" in first.output
    again = runner.invoke(args=["digest", "--now", at])
    assert again.exit_code == 0 and "queued 0" in again.output
    (row,) = db.session.scalars(select(Outbox).where(Outbox.kind == "digest")).all()
    assert row.to_email == LEAD and case.reference in row.body


def test_the_scheduler_runs_the_digest_at_seven_london_time(app: Flask) -> None:
    london = ZoneInfo("Europe/London")
    job = build_scheduler(app).get_job("digest")
    assert job is not None
    after_summer = datetime(2026, 10, 25, 8, 0, tzinfo=london)  # the clocks went back that night
    assert job.trigger.get_next_fire_time(None, after_summer) == datetime(
        2026, 10, 26, 7, 0, tzinfo=london
    )


def test_two_runs_racing_send_one_digest(app: Flask, world: factories.World, now: datetime) -> None:
    for lead in ("health_lead", "csc_lead"):
        digest.set_digest(db.session(), service_context(now), world[lead].id, True)
    case = factories.make_case(world, now)
    at = _due(case.id) + timedelta(minutes=1)
    db.session.remove()
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(digest.send_digests(db.session(), service_context(at)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and sum(results) == 2
    queued = db.session.scalars(select(Outbox.to_email).where(Outbox.kind == "digest")).all()
    assert sorted(queued) == ["csc_lead@example.org", LEAD]
