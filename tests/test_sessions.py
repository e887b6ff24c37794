"""A request's transaction: committed when the request only read, rolled back otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import event, func, insert, select, text

from resolution import create_app
from resolution.extensions import db
from resolution.models import AccessLog

ROW = {"at": datetime(2026, 3, 2, 9, tzinfo=UTC), "what": "probe", "door": "web"}


@pytest.fixture
def probe_app(_app: Flask) -> Iterator[tuple[Flask, list[str]]]:
    """An app on the test database with routes that read, write without saving, or fail;
    and the list of the transaction ends its connections saw."""
    app = create_app({**_app.config, "TESTING": True})
    ends: list[str] = []

    @app.get("/probe/read")
    def read() -> str:
        return str(db.session.scalar(text("SELECT count(*) FROM access_log")))

    @app.get("/probe/core-write")
    def core_write() -> str:
        db.session.connection().execute(insert(AccessLog.__table__), ROW)
        return "written, not saved"

    @app.get("/probe/orm-write")
    def orm_write() -> str:
        db.session.scalar(text("SELECT 1"))
        db.session.add(AccessLog(**ROW))
        return "added, not saved"

    @app.get("/probe/fail")
    def fail() -> str:
        db.session.scalar(text("SELECT 1"))
        raise RuntimeError("the view failed")

    with app.app_context():
        engine = db.engine
    for name in ("commit", "rollback"):
        event.listen(engine, name, lambda conn, name=name: ends.append(name))
    yield app, ends
    with app.app_context():
        db.engine.dispose()


def _logged(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(AccessLog)) or 0)


def test_a_request_that_only_read_commits_and_nothing_else_is_saved(app, probe_app) -> None:
    probe, ends = probe_app
    client = probe.test_client()
    assert client.get("/probe/read").status_code == 200
    assert ends == ["commit"]

    for path in ("/probe/core-write", "/probe/orm-write"):
        ends.clear()
        assert client.get(path).status_code == 200
        assert "commit" not in ends, path
    ends.clear()
    probe.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.get("/probe/fail").status_code == 500
    assert "commit" not in ends
    assert _logged(probe) == 0
