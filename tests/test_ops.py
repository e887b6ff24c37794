"""The health endpoint an operator's monitoring polls."""

from __future__ import annotations

import json
import logging

from resolution import create_app
from resolution.ops import JsonFormatter


def test_health_answers_ok_when_the_database_answers_and_nothing_more_to_anyone(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_tells_an_admin_how_many_events_the_history_holds(world, client) -> None:
    from resolution.extensions import db
    from resolution.models import AuditHead
    from tests.web.conftest import sign_in_as

    head = db.session.get(AuditHead, 1)
    assert head is not None and head.seq > 0
    assert sign_in_as(client, world["admin"]).get("/healthz").get_json() == {
        "status": "ok",
        "database": "ok",
        "events": head.seq,
    }
    practitioner = sign_in_as(client.application.test_client(), world["csc_practitioner"])
    assert practitioner.get("/healthz").get_json() == {"status": "ok"}


def test_health_answers_503_when_the_database_is_gone(tmp_path) -> None:
    gone = tmp_path / "no-such-folder" / "resolution.sqlite"
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{gone}", "SECRET_KEY": "t"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert "sqlite" not in response.get_data(as_text=True).lower()


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord("resolution.x", logging.WARNING, __file__, 1, "swept %d", (3,), None)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["level"] == "warning" and entry["message"] == "swept 3" and "\n" not in line
