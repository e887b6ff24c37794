"""What the web views share: the service context, role checks, dates in London time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from flask import Flask, abort, current_app
from flask_login import current_user, login_required

from ..context import service_context
from ..domain import rules
from ..domain.calendar import MONTHS, spoken_time
from ..models import User
from ..services import signins
from ..services.core import Context

LONDON = ZoneInfo("Europe/London")
F = TypeVar("F", bound=Callable[..., Any])


def web_ctx() -> Context:
    """Return a service context at the real time (or the app's test clock, when set)."""
    return service_context(current_app.config.get("WEB_CLOCK_NOW"))


def drafts_kept() -> timedelta:
    """Return how long a raise draft is kept unchanged (the deployment's setting)."""
    return signins.Limits.from_config(current_app.config).drafts


def me() -> User:
    """Return the signed-in user."""
    return cast(User, current_user._get_current_object())


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let only signed-in users with one of `roles` reach the view; others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if me().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def london(value: datetime | None, with_time: bool = True) -> str:
    """Return an instant as GOV.UK style London time, e.g. '5pm on 9 March 2026'."""
    return "" if value is None else spoken_time(value, LONDON, with_time)


def london_day(value: date) -> str:
    """Return a calendar day in words, e.g. '9 March 2026'."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def london_date(value: datetime | None) -> str:
    """Return the London date of an instant, e.g. '9 March 2026'."""
    return london(value, with_time=False)


def end_of_day(day: date, ctx: Context, key: str, version: int) -> datetime:
    """Return the end of the working day on `day` in the definition's calendar."""
    calendar = ctx.workflows.definition(key, version).calendar
    return datetime.combine(day, calendar.end_of_day, tzinfo=calendar.timezone)


def init_app(app: Flask) -> None:
    """Register the date filters, and the domain's roles for the navigation."""
    app.add_template_filter(london, "london")
    app.add_template_filter(london_date, "london_date")
    app.jinja_env.globals["roles"] = rules
    app.context_processor(lambda: {"partnership": current_app.config["PARTNERSHIP_NAME"]})
