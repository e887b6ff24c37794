"""The operator's door: a health endpoint and structured logs."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Blueprint, Flask, jsonify
from flask_login import current_user
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import db

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


# Who may see more than ok or not: how many events the history holds is not for anyone.
DETAIL_ROLES = ("admin", "auditor")


@bp.get("/healthz")
def health() -> Any:
    """Answer 200 when the database answers, 503 when it does not; details to admins only."""
    try:
        head = db.session.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar()
    except Exception:  # any database failure means unhealthy; the reason goes to the log only
        log.exception("health check failed")
        db.session.rollback()
        return jsonify({"status": "unavailable"}), 503
    if current_user.is_authenticated and current_user.role in DETAIL_ROLES:
        return jsonify({"status": "ok", "database": "ok", "events": int(head or 0)})
    return jsonify({"status": "ok"})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """The handler configure_logging adds (its class tells it is there already)."""


def configure_logging(json_lines: bool) -> None:
    """Send the project's logs to standard error, as JSON lines when asked."""
    root = logging.getLogger("resolution")
    if any(isinstance(h, _StderrHandler) for h in root.handlers):
        return
    handler = _StderrHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def trust_proxies(app: Flask) -> None:
    """Believe the client address and scheme that TRUSTED_PROXIES reverse proxies forward.

    The sign-in throttle and the access log then see the real client, not the proxy.
    """
    hops = int(app.config.get("TRUSTED_PROXIES", 0))
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    """Register the health endpoint, trust the configured proxies and set up logging."""
    app.register_blueprint(bp)
    trust_proxies(app)
    if not app.testing:
        configure_logging(app.config.get("LOG_JSON", False))
