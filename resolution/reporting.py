"""The reporting door's commands: audit verification, exports and the retention rule.

`init_app` adds the `audit` group (`audit verify`, which also takes
`--since-export FILE`) and the `outcomes`, `figures` and `retention` groups.

Each command passes the services the current `sqlalchemy.orm.Session`, `db.session()`:
the object that Flask-SQLAlchemy's scoped `db.session` stands for in this app context.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from .cli import _now_option
from .context import service_context
from .extensions import db
from .models import User
from .services import access, figures, history, integrity, reports, retention
from .services.core import head
from .services.errors import ServiceError


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


audit_cli = AppGroup("audit", help="Check the history's hash chain.")
outcomes_cli = AppGroup("outcomes", help="The outcome log of closed cases.")
figures_cli = AppGroup("figures", help="The partnership's annual-report figures.")
retention_cli = AppGroup("retention", help="Redact free text kept past the retention rule.")


@audit_cli.command("verify")
@click.option(
    "--since-export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="an outcome log or figures export: prove the events it was built from are unchanged",
)
def audit_verify(export_file: Path | None) -> None:
    """Check the audit log's hash chain, whole or up to an export's head."""
    if export_file is not None:
        _verify_since_export(export_file)
        return
    ctx, session = service_context(), db.session()
    verdict = history.verify_chain(session, ctx)
    if verdict.ok:
        mismatch = integrity.check_cases(session, ctx)
        if mismatch is None:
            click.echo(f"audit log intact: {verdict.events} events")
            return
        click.echo(f"reason: {mismatch.reason}", err=True)
        click.echo(f"audit log broken at event {mismatch.seq}")
        sys.exit(1)
    click.echo(f"reason: {verdict.reason}", err=True)
    click.echo(f"audit log broken at event {verdict.broken_at}")
    sys.exit(1)


def _verify_since_export(export_file: Path) -> None:
    try:
        seq, digest = reports.read_export_head(export_file.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        _fail(f"{export_file}: {exc}")
        return
    ctx, session = service_context(), db.session()
    newest, _ = head(session)
    if seq > newest:
        click.echo(
            f"reason: the export names event {seq} but the log ends at event {newest}", err=True
        )
        click.echo(f"export not verified: events from {newest + 1} are missing")
        sys.exit(1)
    verdict = history.verify_chain(session, ctx, upto=seq)
    if not verdict.ok:
        click.echo(f"reason: {verdict.reason}", err=True)
        click.echo(f"export not verified: audit log broken at event {verdict.broken_at}")
        sys.exit(1)
    if verdict.head_digest != digest:
        click.echo("reason: the digest of that event differs from the one in the export", err=True)
        click.echo(f"export not verified: audit log broken at event {seq}")
        sys.exit(1)
    later = newest - seq
    click.echo(
        f"export verified: events 1 to {seq} unchanged since the export ({later} added since)"
    )


def _reader(email: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        _fail(f"no user '{email}'")
    assert user is not None
    return user


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"cannot read '{value}': use a date like 2026-04-01", param_hint=name
        ) from None


def _write(text: str, out: Path | None) -> None:
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8", newline="")
        click.echo(f"wrote {out}", err=True)


@outcomes_cli.command("export")
@click.option("--as", "email", required=True, help="the auditor's or partnership user's e-mail")
@click.option("--from", "date_from", default=None, help="first closing date, e.g. 2026-04-01")
@click.option("--to", "date_to", default=None, help="last closing date (inclusive)")
@click.option("--agency", default=None)
@click.option("--category", default=None)
@click.option("--level", default=None)
@click.option("--outcome", default=None)
@click.option("--theme", default=None)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def outcomes_export(
    email: str,
    date_from: str | None,
    date_to: str | None,
    agency: str | None,
    category: str | None,
    level: str | None,
    outcome: str | None,
    theme: str | None,
    out: Path | None,
) -> None:
    """Write the outcome log as CSV, ending with the audit chain's head."""
    user = _reader(email)
    ctx, session = service_context(), db.session()
    reading = access.Reading(access.EXPORTED, "outcomes.csv", "cli")
    try:
        found = reports.read_outcomes(
            session,
            ctx,
            user,
            reading,
            date_from=_date(date_from, "--from"),
            date_to=_date(date_to, "--to"),
            agency=agency,
            category=category,
            level=level,
            outcome=outcome,
            theme=theme,
        )
    except ServiceError as exc:
        _fail(exc.message)
        return
    _write(found.csv(), out)


@figures_cli.command("export")
@click.option("--as", "email", required=True, help="the auditor's or partnership user's e-mail")
@click.option("--from", "date_from", default=None, help="first day of the period, e.g. 2025-04-01")
@click.option("--to", "date_to", default=None, help="last day of the period (inclusive)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def figures_export(
    email: str, date_from: str | None, date_to: str | None, out: Path | None
) -> None:
    """Write the annual-report figures as CSV, ending with the audit chain's head."""
    user = _reader(email)
    ctx, session = service_context(), db.session()
    reading = access.Reading(access.EXPORTED, "figures.csv", "cli")
    try:
        found = figures.read_figures(
            session, ctx, user, _date(date_from, "--from"), _date(date_to, "--to"), reading
        )
    except ServiceError as exc:
        _fail(exc.message)
        return
    _write(found.csv(), out)


@retention_cli.command("apply")
@click.option(
    "--now", "now_text", default=None, help="the time to apply the rule at (ISO 8601 with offset)"
)
@click.option(
    "--days", type=int, default=None, help="override every definition's keeping time (days)"
)
@click.option("--yes", is_flag=True, help="apply without asking")
def retention_apply(now_text: str | None, days: int | None, yes: bool) -> None:
    """Show the cases whose free text is past keeping, then redact it."""
    now: datetime = _now_option(now_text)
    if days is not None and days < 1:
        raise click.BadParameter("must be 1 or more", param_hint="--days")
    ctx = service_context(now)
    session = db.session()
    plan = retention.plan_retention(session, ctx, keep_days=days)
    if not plan:
        click.echo("nothing to redact")
        return
    click.echo(f"{len(plan)} closed case(s) past the retention rule at {now.isoformat()}:")
    for item in plan:
        click.echo(
            f"  {item.reference}  closed {item.closed_at.astimezone(reports.LONDON).date()}, "
            f"kept {item.keep_days} days: "
            f"{item.records} record(s), {item.events} history event(s)"
        )
    session.commit()  # end the read before asking: the redaction takes the writers' lock
    if not yes and not click.confirm("Redact their free text now?", default=False):
        click.echo("nothing redacted")
        sys.exit(1)
    result = retention.apply_retention(
        session, ctx, keep_days=days, only={item.reference for item in plan}
    )
    click.echo(
        f"redacted {result.cases} case(s): {result.records} record(s), "
        f"{result.events} history event(s)"
    )


def init_app(app: Flask) -> None:
    """Register the reporting commands."""
    for command in (audit_cli, outcomes_cli, figures_cli, retention_cli):
        app.cli.add_command(command)
