"""Shared fixtures: the app on a real database built by the real migrations.

`RESOLUTION_TEST_DATABASE=postgres` runs the suite against a throwaway
PostgreSQL server started here; the default is SQLite in a temporary folder.
Tables are emptied after each test rather than rebuilt, which is fast on both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from resolution import create_app
from resolution.cli import ensure_database
from resolution.context import service_context
from resolution.domain import audit
from resolution.extensions import db
from resolution.services.core import Context

from . import factories
from .scheduler.conftest import smtp_server  # noqa: F401 (the real SMTP server, for every test)

ON_POSTGRES = os.environ.get("RESOLUTION_TEST_DATABASE") == "postgres"
# Monday 2 March 2026, 09:00 in London (GMT): a plain working week ahead.
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("RESOLUTION_TEST_DATABASE_URL"):  # a server someone else runs
        yield os.environ["RESOLUTION_TEST_DATABASE_URL"]
    elif ON_POSTGRES:
        from .support.pgserver import PostgresServer

        server = PostgresServer().start()
        try:
            yield server.create_database("resolution_test")
        finally:
            server.stop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def _app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://resolution.test",
            "WTF_CSRF_ENABLED": True,
        }
    )
    app.instance_path = str(instance)
    with app.app_context():
        ensure_database()
    yield app
    with app.app_context():
        db.engine.dispose()


def empty_tables(app: Flask) -> None:
    """Delete every row and restore the chain's head row."""
    from flask import has_app_context

    if has_app_context():
        db.session.remove()  # end this context's transaction, or PostgreSQL's TRUNCATE waits for it
    with app.app_context():
        db.session.rollback()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(t.name for t in db.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
            conn.execute(
                text("INSERT INTO audit_head (id, seq, digest) VALUES (1, 0, :g)"),
                {"g": audit.GENESIS},
            )
        db.session.remove()


@pytest.fixture
def app(_app: Flask) -> Iterator[Flask]:
    with _app.app_context():
        yield _app
        db.session.remove()
    empty_tables(_app)


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def now() -> datetime:
    return MONDAY


@pytest.fixture
def ctx(app: Flask, now: datetime) -> Context:
    return service_context(now)


@pytest.fixture
def world(app: Flask, now: datetime) -> factories.World:
    """Three agencies with one user of each role, and a partnership and auditor."""
    return factories.make_world(now)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
