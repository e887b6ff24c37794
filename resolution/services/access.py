"""Who looked at what: every case view, export and sign-in, readable by auditors.

Reading is not a change, so these rows stay out of the cases' hash chain. They
are append-only all the same: this module only ever inserts, and each row is
written in its own short transaction on its own connection, so it is kept even
when the request that caused it later fails, and it never commits the caller's
pending work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import Session

from ..domain import rules
from ..models import AccessLog, User
from .core import Context, engine_of
from .errors import Forbidden, Invalid

DOORS = ("web", "api", "cli")
# The usual kinds; a door may add its own (up to 40 characters).
CASE_VIEWED = "case_viewed"
EXPORTED = "exported"
SIGNED_IN = "signed_in"
SIGN_IN_FAILED = "sign_in_failed"
FIGURES_VIEWED = "figures_viewed"
OUTCOMES_VIEWED = "outcomes_viewed"
ACCESS_VIEWED = "access_log_viewed"
CASES_LISTED = "cases_listed"  # a list of cases with their summaries
OVERDUE_VIEWED = "overdue_viewed"
HISTORY_VIEWED = "history_viewed"  # one case's history events
EVENTS_READ = "audit_events_read"  # the history of every case
RESET_ASKED = "password_reset_asked"  # a forgotten-password link asked for
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Reading:
    """How a read is written to the access log: its kind, what was read, through which door."""

    what: str
    target: str | None
    door: str


def target_of(name: str, filters: Mapping[str, Any]) -> str:
    """Name what a listing read, with only the filters in use: e.g. 'cases?state=open'."""
    used = urlencode(
        {k: v for k, v in filters.items() if v is not None and v != "" and v is not False}
    )
    return f"{name}?{used}"[:200] if used else name


def record_access(
    session: Session,
    ctx: Context,
    user: User | str | None,
    what: str,
    target: str | None,
    door: str,
) -> int:
    """Append one row to the access log in its own transaction; return its id.

    `user` is the signed-in user, or the e-mail typed at a failed sign-in, or None.
    """
    if door not in DOORS:
        raise Invalid.field("door", f"must be one of {', '.join(DOORS)}")
    if not what or len(what) > 40:
        raise Invalid.field("what", "give a kind of access of 1 to 40 characters")
    if ctx.now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    row = {
        "at": ctx.now,
        "user_id": user.id if isinstance(user, User) else None,
        "actor": (user.email if isinstance(user, User) else user)[:254] if user else None,
        "what": what,
        "target": target[:200] if target else None,
        "door": door,
    }
    with engine_of(session).connect() as connection:
        found = connection.execute(insert(AccessLog).returning(AccessLog.id), row).scalar_one()
        connection.commit()
    return int(found)


def _auditors_only(user: User) -> None:
    if not user.active or user.role != "auditor":
        raise Forbidden("only auditors read the access log")


def _as_data(row: AccessLog) -> dict[str, Any]:
    """Return one access row as plain data."""
    return {
        "id": row.id,
        "at": row.at,
        "user_id": row.user_id,
        "actor": row.actor,
        "what": row.what,
        "target": row.target,
        "door": row.door,
    }


def access_events(
    session: Session,
    ctx: Context,
    user: User,
    after_id: int = 0,
    limit: int = 100,
    *,
    what: str | None = None,
    target: str | None = None,
    actor: str | None = None,
) -> list[dict[str, Any]]:
    """Return up to `limit` access rows after `after_id`, oldest first: auditors only."""
    _auditors_only(user)
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid.field("limit", f"must be 1 to {MAX_LIMIT}")
    if after_id < 0:
        raise Invalid.field("after_id", "must be 0 or more")
    query = select(AccessLog).where(AccessLog.id > after_id)
    if what:
        query = query.where(AccessLog.what == what)
    if target:
        query = query.where(AccessLog.target == target)
    if actor:
        query = query.where(AccessLog.actor == actor.strip().lower())
    rows = session.scalars(query.order_by(AccessLog.id).limit(limit))
    return [_as_data(row) for row in rows]


def kinds(session: Session, ctx: Context) -> list[str]:
    """Return the kinds of access recorded so far, sorted."""
    return sorted(session.scalars(select(AccessLog.what).distinct()))


def access_page(
    session: Session,
    ctx: Context,
    user: User,
    *,
    page: int = 1,
    per_page: int = 50,
    actor: str | None = None,
    what: str | None = None,
    day: date | None = None,
    zone: str = "Europe/London",
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of the access log, newest first, and how many rows match: auditors only.

    `day` is a local day in `zone`; `actor` matches the e-mail, or the start of it.
    """
    _auditors_only(user)
    if not 1 <= per_page <= MAX_LIMIT:
        raise Invalid.field("per_page", f"must be 1 to {MAX_LIMIT}")
    if not 1 <= page <= rules.MAX_PAGE:
        raise Invalid.field("page", f"must be 1 to {rules.MAX_PAGE}")
    if day is not None and not rules.in_range(day):
        raise Invalid.field("on", rules.OUT_OF_RANGE)
    conditions: list[ColumnElement[bool]] = []
    if actor:
        wanted = actor.strip().lower()
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(AccessLog.actor.like(f"{escaped}%", escape="\\"))
    if what:
        conditions.append(AccessLog.what == what)
    if day is not None:
        start = datetime.combine(day, time(0), ZoneInfo(zone))
        conditions.append(AccessLog.at >= start)
        conditions.append(
            AccessLog.at < datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(zone))
        )
    total = int(session.scalar(select(func.count()).select_from(AccessLog).where(*conditions)) or 0)
    rows = session.scalars(
        select(AccessLog)
        .where(*conditions)
        .order_by(AccessLog.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return [_as_data(row) for row in rows], total
