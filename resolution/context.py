"""The doors' one place to read the real clock and build a service context."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app

from .domain.machines import Workflows
from .services.core import Context


def real_now() -> datetime:
    """Return the real time, aware, in UTC: only the doors call this."""
    return datetime.now(UTC)


def workflows() -> Workflows:
    """Return the current app's loaded workflows."""
    loaded: Workflows = current_app.extensions["workflows"]  # put there by create_app
    return loaded


def service_context(now: datetime | None = None) -> Context:
    """Return a service context for this app at `now` (default: the real time)."""
    return Context(
        workflows=workflows(), now=now or real_now(), base_url=current_app.config["BASE_URL"]
    )
