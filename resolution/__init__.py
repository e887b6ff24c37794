"""resolution: the professional concerns resolution process as a service."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, abort
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import sessions
from .config import from_environment, secret_key
from .domain.machines import Workflows
from .domain.reading import load_directory
from .extensions import db, migrate


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout for every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the application."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(Path(__file__).parent.parent / "templates"),
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(from_environment(instance))
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(instance)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})

    db.init_app(app)
    sessions.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    app.extensions["workflows"] = Workflows(
        load_directory(Path(app.config["WORKFLOWS_DIR"]), app.config["DEFAULT_WORKFLOW"])
    )

    # The doors: each module registers its own commands, blueprints and handlers.
    from . import api, cli, identity_cli, ops, reporting, scheduler, web

    for door in (cli, identity_cli, ops, api, web, scheduler, reporting):
        door.init_app(app)
    app.url_value_preprocessor(_no_impossible_ids)
    return app


LARGEST_ID = 2**31 - 1  # ids are 32-bit integers in every table


def _no_impossible_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Answer 404 for an id in a URL that no row can have, before any query is made.

    PostgreSQL refuses to compare a 32-bit column with a larger number; such an id
    names nothing, so it is simply not found, on every door.
    """
    if values and any(isinstance(v, int) and not 0 < v <= LARGEST_ID for v in values.values()):
        abort(404)
