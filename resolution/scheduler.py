"""The scheduler door: `flask --app wsgi sweep` by hand, `flask --app wsgi scheduler` for good.

The scheduler is its own process, never part of a web worker (every worker
would run every job). It runs three interval jobs on APScheduler 3: the sweep,
the outbox sender, and the clearing of ended sessions and old drafts; and the daily digest at
07:00 London time (`flask --app wsgi digest` by hand). Each run opens its own app context, so each has its own
database session; a run still going when the next is due is not doubled
(`max_instances=1`), and runs missed while the process was busy or asleep
collapse into one (`coalesce`). SIGTERM or SIGINT stops it after the running
jobs finish.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType

import click
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app

from .cli import parse_now
from .context import real_now, service_context
from .extensions import db
from .services import digest, signins
from .services.mailer import SmtpSettings, send_pending
from .services.sweep import SweepResult, sweep

log = logging.getLogger(__name__)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


def run_sweep(app: Flask, now: datetime | None = None) -> SweepResult:
    """Run one sweep in a fresh app context and log what it flagged."""
    with app.app_context():
        result = sweep(db.session(), service_context(now))
        log.info(
            "sweep: %d flagged (steps overdue %d, steps due soon %d, actions overdue %d, "
            "actions due soon %d), %d e-mails queued",
            result.flagged,
            result.flagged_overdue,
            result.warned_due_soon,
            result.actions_overdue,
            result.actions_due_soon,
            result.messages,
        )
        return result


def run_outbox(app: Flask, now: datetime | None = None) -> tuple[int, int]:
    """Send the due outbox rows in a fresh app context and log the counts."""
    with app.app_context():
        sent, failed = send_pending(
            db.session(),
            service_context(now),
            SmtpSettings.from_config(app.config),
            lease=timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"]),
            clock=None if now else real_now,  # a given time moves on from there
        )
        if sent or failed:
            log.info("outbox: %d sent, %d failed", sent, failed)
        return sent, failed


def run_housekeeping(app: Flask, now: datetime | None = None) -> int:
    """Delete ended sessions, raise drafts past their time and dead reset links."""
    with app.app_context():
        gone = signins.purge(
            db.session(), service_context(now), signins.Limits.from_config(app.config)
        )
        if gone:
            log.info("housekeeping: %d ended sessions, old drafts and reset links deleted", gone)
        return gone


def run_digest(app: Flask, now: datetime | None = None) -> int:
    """Queue the day's digests in a fresh app context (one per user a day, however often run)."""
    with app.app_context():
        queued = digest.send_digests(db.session(), service_context(now))
        log.info("digest: %d e-mails queued", queued)
        return queued


def _listener(event: JobEvent) -> None:
    if event.code == EVENT_JOB_ERROR:
        log.error("job %s failed", event.job_id, exc_info=getattr(event, "exception", None))
    elif event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
    else:
        log.debug("job %s ran", event.job_id)


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """Return a scheduler with the sweep and outbox jobs, not yet started."""
    scheduler = BackgroundScheduler(timezone="Europe/London", job_defaults=JOB_DEFAULTS)
    start = real_now()
    scheduler.add_job(
        run_sweep,
        "interval",
        seconds=int(app.config["SWEEP_SECONDS"]),
        args=[app],
        id="sweep",
        name="sweep",
        replace_existing=True,
        next_run_time=start,
    )
    scheduler.add_job(
        run_outbox,
        "interval",
        seconds=int(app.config["OUTBOX_SECONDS"]),
        args=[app],
        id="outbox",
        name="outbox",
        replace_existing=True,
        next_run_time=start,
    )
    scheduler.add_job(
        run_housekeeping,
        "interval",
        minutes=10,
        args=[app],
        id="housekeeping",
        name="housekeeping",
        replace_existing=True,
        next_run_time=start,
    )
    scheduler.add_job(
        run_digest,
        "cron",
        hour=7,
        minute=0,
        args=[app],
        id="digest",
        name="digest",
        replace_existing=True,
        misfire_grace_time=3600,  # a scheduler down at 07:00 still sends it within the hour
    )
    scheduler.add_listener(_listener, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_EXECUTED)
    return scheduler


@click.command("sweep")
@click.option("--now", "now_text", default=None, help="ISO 8601 with offset; default: now")
def sweep_command(now_text: str | None) -> None:
    """Flag overdue and due-soon steps and actions once, and queue the e-mails."""
    # Flask types the current_app proxy as a Flask, so the proxy's own method is unknown to mypy.
    result = run_sweep(current_app._get_current_object(), parse_now(now_text))  # type: ignore[attr-defined]
    click.echo(f"flagged {result.flagged}")


@click.command("digest")
@click.option("--now", "now_text", default=None, help="ISO 8601 with offset; default: now")
def digest_command(now_text: str | None) -> None:
    """Queue today's digest e-mails for the managers and leads who chose one a day."""
    queued = run_digest(current_app._get_current_object(), parse_now(now_text))  # type: ignore[attr-defined]
    click.echo(f"queued {queued}")


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the sweep and the outbox sender on their intervals until stopped."""
    # The real app, not the proxy, for the scheduler's threads (see sweep_command above).
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler = build_scheduler(app)
    scheduler.start()
    log.info(
        "scheduler: started (sweep every %ss, outbox every %ss)",
        app.config["SWEEP_SECONDS"],
        app.config["OUTBOX_SECONDS"],
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("scheduler: stopped")
    click.echo("scheduler stopped")


def init_app(app: Flask) -> None:
    """Register the `sweep`, `digest` and `scheduler` commands."""
    app.cli.add_command(sweep_command)
    app.cli.add_command(digest_command)
    app.cli.add_command(scheduler_command)
