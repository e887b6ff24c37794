"""`flask --app wsgi identity check`: is the identity providers file right, and are its issuers?"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import requests
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .identity_config import (
    IdentityConfigError,
    check_discovery,
    load_providers,
    missing_secrets,
)
from .models import Agency

identity_cli = AppGroup("identity", help="Sign-in with agencies' own accounts (OpenID Connect).")


@identity_cli.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def identity_check(path: Path | None) -> None:
    """Check the providers file (default: RESOLUTION_IDENTITY_PROVIDERS) and fetch each
    issuer's discovery document; name everything wrong, exit 1 if anything is."""
    path = path or current_app.config.get("IDENTITY_PROVIDERS")
    if not path:
        click.echo("error: no providers file: set RESOLUTION_IDENTITY_PROVIDERS", err=True)
        sys.exit(1)
    try:
        providers = load_providers(path)
    except IdentityConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    problems = missing_secrets(providers)
    known = set(db.session.scalars(select(Agency.code).where(Agency.active.is_(True))))
    for provider in providers:
        problems += [
            f"provider '{provider.key}': no active agency {code} in the database"
            for code in provider.agencies
            if code not in known
        ]
        try:
            answer = requests.get(provider.discovery_url, timeout=10)
            answer.raise_for_status()
            found = check_discovery(provider, answer.json())
        except (requests.RequestException, ValueError) as exc:
            found = [f"provider '{provider.key}': cannot fetch {provider.discovery_url}: {exc}"]
        problems += found
        if not found:
            click.echo(f"ok: {provider.key} ({provider.issuer}): {', '.join(provider.agencies)}")
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{len(providers)} provider(s) checked")


def init_app(app: Flask) -> None:
    app.cli.add_command(identity_cli)
