"""The doors: `flask sweep --now` by hand, and `flask scheduler` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from resolution import create_app
from resolution.context import real_now
from resolution.extensions import db
from resolution.models import AuditEvent, Step

from .. import factories
from .conftest import SmtpServer


def test_sweep_command_prints_what_it_flagged(
    app: Flask, runner, world: factories.World, now: datetime
) -> None:
    made = [factories.make_case(world, now, child_ref=f"CS-{i:06d}") for i in range(3)]
    due = db.session.scalars(select(Step.due_at).where(Step.case_id == made[0].id)).one()
    warn = db.session.scalars(select(Step.warn_at).where(Step.case_id == made[0].id)).one()

    result = runner.invoke(args=["sweep", "--now", warn.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.output == "flagged 3\n"  # three due-soon warnings
    late = (due + timedelta(minutes=1)).isoformat()
    assert runner.invoke(args=["sweep", "--now", late]).output == "flagged 3\n"  # three overdue
    assert runner.invoke(args=["sweep", "--now", late]).output == "flagged 0\n"
    db.session.expire_all()
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "scheduler"))
    assert sorted(actions) == ["step_due_soon"] * 3 + ["step_overdue"] * 3


def test_sweep_command_refuses_a_time_without_offset(app: Flask, runner) -> None:
    result = runner.invoke(args=["sweep", "--now", "2026-03-20T09:00:00"])
    assert result.exit_code == 2
    assert "offset" in result.output


def _flask() -> list[str]:
    return [str(Path(sys.executable).with_name("flask")), "--app", "wsgi"]


def test_scheduler_process_sends_the_overdue_mail_and_stops_on_sigterm(
    tmp_path: Path, repo_root: Path, smtp_server: SmtpServer
) -> None:
    url = f"sqlite:///{tmp_path / 'scheduler.sqlite'}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "scheduler-test",
        "RESOLUTION_BASE_URL": "http://resolution.test",
        "RESOLUTION_SWEEP_SECONDS": "1",
        "RESOLUTION_OUTBOX_SECONDS": "1",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_TLS": "none",
        "MAIL_FROM": "resolution@test",
    }
    init = subprocess.run(
        [*_flask(), "init-db"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert init.returncode == 0, init.stderr

    # A case raised a month ago by the real clock: its first level is long overdue.
    other = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with other.app_context():
        raised = real_now() - timedelta(days=30)
        case = factories.make_case(factories.make_world(raised), raised)
        reference = case.reference
        db.engine.dispose()

    log_path = tmp_path / "scheduler.log"
    log = log_path.open("w+")
    process = subprocess.Popen(
        [*_flask(), "scheduler"],
        cwd=repo_root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        overdue: list[str] = []
        while time.monotonic() < deadline:
            overdue = [m.to for m in smtp_server.mailbox.items if "overdue" in m.subject]
            if len(overdue) >= 4:
                break
            time.sleep(0.2)
        assert sorted(overdue) == [
            "csc_lead@example.org",
            "csc_practitioner@example.org",
            "health_lead@example.org",
            "health_practitioner@example.org",
        ]
        # Two more sweeps, and the outbox runs on the same interval: nothing is flagged or
        # sent again meanwhile.
        swept = log_path.read_text().count("sweep: ")
        deadline = time.monotonic() + 120
        while log_path.read_text().count("sweep: ") < swept + 2:
            assert time.monotonic() < deadline, "gave up waiting for two more sweeps"
            time.sleep(0.1)
        assert len([m for m in smtp_server.mailbox.items if "overdue" in m.subject]) == 4
        assert all(reference in m.subject for m in smtp_server.mailbox.items)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        log.seek(0)
        output = log.read()
        log.close()
    assert code == 0, output
    assert "scheduler: started" in output and "scheduler: stopped" in output
    assert "sweep: 1 flagged" in output
    assert "Traceback" not in output
