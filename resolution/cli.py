"""The `flask --app wsgi ...` commands: a thin door into the services.

The `audit`, `outcomes`, `figures` and `retention` commands are resolution.reporting's.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .context import real_now, service_context, workflows
from .domain import audit
from .domain.definitions import DefinitionError
from .domain.reading import load_definition
from .extensions import db
from .models import AuditHead
from .services import accounts
from .services.errors import ServiceError


def parse_now(value: str | None) -> datetime | None:
    """Read a `--now` option: an ISO 8601 time with its offset, or None when not given."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"cannot read '{value}': use ISO 8601, e.g. 2026-12-01T09:00:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the time with its offset, e.g. +00:00")
    return moment


def _now_option(value: str | None) -> datetime:
    return parse_now(value) or real_now()


def _fail(exc: ServiceError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(1)


def ensure_database() -> None:
    """Create or migrate the database, then make sure the chain has its head row."""
    from flask_migrate import upgrade

    upgrade(directory=str(Path(current_app.root_path).parent / "migrations"))
    if db.session.get(AuditHead, 1) is None:
        db.session.add(AuditHead(id=1, seq=0, digest=audit.GENESIS))
        db.session.commit()


@click.command("init-db")
def init_db_command() -> None:
    """Create or migrate the database named by DATABASE_URL."""
    ensure_database()
    click.echo("database ready")


agencies_cli = AppGroup("agencies", help="Manage agencies.")


@agencies_cli.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--contact", default=None, help="an address told of its cases when nobody is named")
def agencies_add(code: str, name: str, contact: str | None) -> None:
    """Add an agency."""
    try:
        agency = accounts.create_agency(
            db.session(), service_context(), code, name, contact_email=contact
        )
    except ServiceError as exc:
        _fail(exc)
    click.echo(agency.code)


@agencies_cli.command("contact")
@click.argument("code")
@click.argument("email", required=False)
def agencies_contact(code: str, email: str | None) -> None:
    """Set the address an agency is told at when nobody there is named (none: clear it)."""
    try:
        agency = accounts.set_agency_contact(db.session(), service_context(), code, email)
    except ServiceError as exc:
        _fail(exc)
    click.echo(agency.contact_email or "no contact address")


users_cli = AppGroup("users", help="Manage users and their API tokens.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--agency", required=True, help="the agency's code")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["practitioner", "manager", "lead", "partnership", "auditor", "admin"]),
)
@click.option(
    "--password",
    default=None,
    help="omit to be asked (or for a token-only user, pass none with --no-password)",
)
@click.option("--no-password", is_flag=True, help="create a user who signs in with API tokens only")
def users_create(
    email: str, name: str, agency: str, role: str, password: str | None, no_password: bool
) -> None:
    """Add a user."""
    if password is None and not no_password:
        if not sys.stdin.isatty():
            raise click.UsageError("give --password or --no-password when not at a terminal")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            db.session(),
            service_context(),
            email=email,
            name=name,
            agency=agency,
            role=role,
            password=password,
        )
    except ServiceError as exc:
        _fail(exc)
    click.echo(user.email)


@users_cli.command("token")
@click.option("--email", required=True)
@click.option(
    "--days",
    default=None,
    type=click.IntRange(accounts.MIN_TOKEN_DAYS, accounts.MAX_TOKEN_DAYS),
    help="how long it lasts, 1 to 366 days (default from RESOLUTION_TOKEN_DAYS)",
)
def users_token(email: str, days: int | None) -> None:
    """Issue an API token for a user (shown once, stored hashed)."""
    if days is None:  # not `days or ...`: 0 is refused above, never quietly the default
        days = int(current_app.config["TOKEN_DAYS"])
    try:
        token = accounts.issue_token(db.session(), service_context(), email, days=days)
    except ServiceError as exc:
        _fail(exc)
    click.echo(token)


@users_cli.command("revoke-tokens")
@click.option("--email", required=True)
def users_revoke(email: str) -> None:
    """Revoke every live API token of a user."""
    try:
        count = accounts.revoke_tokens(db.session(), service_context(), email)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"revoked {count}")


@users_cli.command("deactivate")
@click.option("--email", required=True)
def users_deactivate(email: str) -> None:
    """Deactivate a user: their sessions and tokens stop working at once."""
    try:
        accounts.set_active(db.session(), service_context(), email, False)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"deactivated {email}")


@users_cli.command("set-password")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_set_password(email: str, password: str) -> None:
    """Set a user's password (their other sessions end)."""
    try:
        accounts.set_password(db.session(), service_context(), email, password)
    except ServiceError as exc:
        _fail(exc)
    click.echo(email)


workflows_cli = AppGroup("workflows", help="Check and show process definitions.")


@workflows_cli.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def workflows_check(path: Path) -> None:
    """Check one definition file and print the verdict."""
    try:
        definition = load_definition(path)
    except DefinitionError as exc:
        click.echo(f"invalid: {exc}")
        sys.exit(1)
    click.echo(
        f"valid: {definition.key} version {definition.version}, "
        f"{len(definition.levels)} {definition.level_word}s, {len(definition.actions)} actions"
    )


@workflows_cli.command("show")
@click.argument("key")
@click.option("--version", type=int, default=None)
def workflows_show(key: str, version: int | None) -> None:
    """Print the levels and actions of a loaded definition."""
    registry = workflows().registry
    try:
        d = registry.get(key, version) if version else registry.latest(key)
    except KeyError:
        click.echo(
            f"error: no workflow '{key}'" + (f" version {version}" if version else ""), err=True
        )
        sys.exit(1)
    click.echo(f"{d.title} ({d.key} version {d.version})")
    for i, level in enumerate(d.levels, start=1):
        final = ", final" if level.final else ""
        click.echo(
            f"  {d.level_word} {i}  {level.key}: {level.title} [{', '.join(level.acts)}; {level.timescale}{final}]"
        )
    if d.urgent:
        click.echo(f"  urgent route: starts at {d.urgent.start}, clock {d.urgent.timescale}")
    click.echo("actions:")
    for a in d.actions:
        target = f"closes: {a.closes}" if a.closes else f"to: {a.to}"
        click.echo(
            f"  {a.key}: {a.title} [from {', '.join(a.sources)}; {target}; roles {', '.join(a.roles)}]"
        )


@click.command("demo")
def demo_command() -> None:
    """Load demonstration agencies, users and cases in every state."""
    from .demo import load_demo

    ensure_database()
    passwords = load_demo(service_context())
    click.echo("Demo users (e-mail / password):")
    for email, password in passwords.items():
        click.echo(f"  {email:38} {password}")
    click.echo(current_app.config["BASE_URL"])


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (
        init_db_command,
        demo_command,
        agencies_cli,
        users_cli,
        workflows_cli,
    ):
        app.cli.add_command(command)
