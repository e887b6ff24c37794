"""The scheduler process under faults: killed again and again and restarted, or started twice.

Either way every overdue step is flagged once, has one history event, and each of its
e-mails reaches the real SMTP server once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from resolution import create_app
from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.models import AuditEvent, User
from resolution.services import cases

from ..scheduler.conftest import SmtpServer
from .test_deployment import BIN, Deployment

OVERDUE = 120
# When each run is killed, spread over the first sweep and the sends: once it has started,
# once the first overdue e-mail arrived, once a third and two thirds of them have.
KILL_WHEN = (0, 1, OVERDUE, OVERDUE * 2)
KILLS = len(KILL_WHEN)
ROOT = Path(__file__).resolve().parents[2]


def _seed_overdue(url: str) -> set[str]:
    """Raise cases a month ago by the real clock, so each first level is long overdue."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with other.app_context():
        sam = db.session.scalar(select(User).where(User.email == "sam@csc.example"))
        assert sam is not None
        raised = real_now() - timedelta(days=30)
        references = set()
        for i in range(OVERDUE):
            case = cases.raise_case(db.session(),
                service_context(raised + timedelta(seconds=i)), sam.id, child_ref=f"CS-9{i:04d}",
                category="threshold", summary="Whether the threshold is met.",
                with_agencies=["HEALTH"], with_people=["priya@health.example"],
            )  # fmt: skip
            references.add(case.reference)
        db.session.remove()
        db.engine.dispose()
    return references


def _flags(url: str) -> Counter[str]:
    other = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with other.app_context():
        found = Counter(
            db.session.scalars(
                select(AuditEvent.case_ref).where(AuditEvent.action == "step_overdue")
            )
        )
        db.session.remove()
        db.engine.dispose()
    return found


def _scheduler(deployment: Deployment, smtp: SmtpServer, log: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": deployment.database_url,
        "SECRET_KEY": "deployment-test",
        "RESOLUTION_SWEEP_SECONDS": "1",
        "RESOLUTION_OUTBOX_SECONDS": "1",
        # Messages claimed by a killed sender wait this long before another sends them.
        "RESOLUTION_OUTBOX_LEASE_SECONDS": "5",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_TLS": "none",
        "MAIL_FROM": "resolution@test",
        "RESOLUTION_LOG_JSON": "1",
    }
    out = log.open("a")
    try:
        return subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "scheduler"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    finally:
        out.close()


def _overdue_mail(smtp: SmtpServer) -> Counter[tuple[str, str]]:
    return Counter((m.to, m.subject) for m in smtp.mailbox.items if "overdue" in m.subject)


def _wait_until(condition: Callable[[], bool], what: str, seconds: float = 180) -> None:
    """Return once `condition` holds; fail after `seconds` (a generous bound, not a speed)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def _wait_for(smtp: SmtpServer, count: int) -> None:
    _wait_until(lambda: len(_overdue_mail(smtp)) >= count, f"{count} overdue e-mails")


def _lines(log: Path, text: str) -> int:
    """Return how many lines of a scheduler's log contain `text`."""
    return sum(text in line for line in log.read_text().splitlines()) if log.exists() else 0


def _two_more_sweeps(*logs: Path) -> None:
    """Wait until each scheduler has swept twice more: by then its outbox job, on the same
    interval, has had its runs too, so anything flagged or sent again would show."""
    seen = [_lines(log, "sweep: ") for log in logs]
    for log, count in zip(logs, seen, strict=True):
        _wait_until(
            lambda log=log, count=count: _lines(log, "sweep: ") >= count + 2, "two more sweeps"
        )


def _stop_fixture_scheduler(deployment: Deployment) -> None:
    """Stop the deployment's own scheduler: these tests start theirs."""
    deployment.scheduler.kill()
    deployment.scheduler.wait(timeout=10)


def test_a_scheduler_killed_and_restarted_misses_nothing_and_flags_once(
    deployment: Deployment, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    _stop_fixture_scheduler(deployment)
    references = _seed_overdue(deployment.database_url)
    log = tmp_path / "scheduler.log"
    for run, mail in enumerate(KILL_WHEN, start=1):
        process = _scheduler(deployment, smtp_server, log)
        _wait_until(lambda n=run: _lines(log, "scheduler: started") >= n, "the scheduler to start")
        _wait_until(lambda n=mail: sum(_overdue_mail(smtp_server).values()) >= n, f"{mail} e-mails")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    process = _scheduler(deployment, smtp_server, log)
    try:
        _wait_for(smtp_server, OVERDUE * 3)
        _two_more_sweeps(log)  # nothing new may be flagged or sent meanwhile
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    flags = _flags(deployment.database_url)
    assert set(flags) == references and set(flags.values()) == {1}
    mail = _overdue_mail(smtp_server)
    # Each case tells its two parties and Health's lead. A sender marks each message sent
    # right after the mail server takes it, so a kill can repeat at most the one message
    # in hand at that moment: at most one repeat per kill, nothing missing.
    assert len(mail) == OVERDUE * 3
    assert sum(mail.values()) - len(mail) <= KILLS
    assert {to for to, _ in mail} == {
        "sam@csc.example",
        "priya@health.example",
        "hana@health.example",
    }


def test_two_schedulers_started_by_mistake_still_flag_and_send_once(
    deployment: Deployment, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    _stop_fixture_scheduler(deployment)
    references = _seed_overdue(deployment.database_url)
    first = _scheduler(deployment, smtp_server, tmp_path / "first.log")
    second = _scheduler(deployment, smtp_server, tmp_path / "second.log")
    try:
        _wait_for(smtp_server, OVERDUE * 3)
        _two_more_sweeps(tmp_path / "first.log", tmp_path / "second.log")
    finally:
        for process in (first, second):
            process.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0 and second.wait(timeout=30) == 0
    flags = _flags(deployment.database_url)
    assert set(flags) == references and set(flags.values()) == {1}
    mail = _overdue_mail(smtp_server)
    assert sum(mail.values()) == OVERDUE * 3 and set(mail.values()) == {1}
