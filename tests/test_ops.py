"""The health endpoint an operator's monitoring polls."""

from __future__ import annotations

import json
import logging

from resolution import create_app
from resolution.ops import JsonFormatter


def test_health_answers_ok_when_the_database_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "events": 0}


def test_health_answers_503_when_the_database_is_gone(tmp_path) -> None:
    gone = tmp_path / "no-such-folder" / "resolution.sqlite"
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{gone}", "SECRET_KEY": "t"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert "sqlite" not in response.get_data(as_text=True).lower()


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord("resolution.x", logging.WARNING, __file__, 1, "swept %d", (3,), None)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["level"] == "warning" and entry["message"] == "swept 3" and "\n" not in line
