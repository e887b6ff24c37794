"""The daily digest: for each manager or lead who chose it, one e-mail listing their agency's
open cases that are overdue or due soon, instead of a message per event (`notify.Recipients`).

The list is the Overdue page's (`queries.open_cases`, "Overdue and due soon"), so the two agree
on what is late; each case is named by its reference only. A user gets one digest a London day:
the day is claimed on their row in the same transaction that queues the e-mail.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from ..domain import rules
from ..domain.calendar import spoken_time
from ..domain.status import is_urgent, step_status
from ..models import User
from .core import Context, Message, load_user, unit_of_work
from .errors import Forbidden, NotFound
from .queries import OpenFilter, OpenRow, open_cases

LONDON = ZoneInfo("Europe/London")  # the partnership's day, as the scheduler's
MOST = 200  # cases listed in one digest; the rest are counted, and the Overdue page has them


def set_digest(session: Session, ctx: Context, user_id: int, digest: bool) -> User:
    """Choose, for oneself, one e-mail a day (`digest`) or an e-mail for each change."""
    with unit_of_work(session, ctx.now) as uow:
        user = load_user(uow.session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        if digest and user.role not in rules.DIGEST_ROLES:
            raise Forbidden("only managers and leads can choose one e-mail a day")
        if user.digest != digest:
            user.digest = digest
            uow.record_event(
                actor=user, action="digest_chosen", payload={"email": user.email, "digest": digest}
            )
    return user


def send_digests(session: Session, ctx: Context) -> int:
    """Queue today's digest for each active user who chose it and has none yet today; return
    how many were queued (a user with nothing overdue or due soon is sent nothing)."""
    today = ctx.now.astimezone(LONDON).date()
    takers = session.scalars(
        select(User.id)
        .where(User.digest.is_(True), User.active.is_(True), User.role.in_(rules.DIGEST_ROLES))
        .order_by(User.id)
    ).all()
    return sum(_send_one(session, ctx, user_id, today) for user_id in takers)


def _send_one(session: Session, ctx: Context, user_id: int, today: date) -> int:
    with unit_of_work(session, ctx.now, late=True) as uow:
        # Claim the day first: a second run (or one racing this) finds it taken and stops.
        claim = uow.session.execute(
            update(User)
            .where(
                User.id == user_id,
                or_(User.digest_sent_on.is_(None), User.digest_sent_on < today),
            )
            .values(digest_sent_on=today)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(claim, CursorResult)  # as an UPDATE's is (typed as a Result)
        claimed = claim.rowcount
        user = load_user(uow.session, user_id)
        if not claimed or user is None:
            return 0
        found = open_cases(
            uow.session, ctx, user, OpenFilter(show="late", sort="due", per_page=MOST)
        )
        if not found.rows:
            return 0  # the day stays claimed: nothing to tell today
        uow.queue([_message(ctx, user, found.rows, found.total)])
    return 1


def _message(ctx: Context, user: User, rows: list[OpenRow], total: int) -> Message:
    overdue: list[str] = []
    soon: list[str] = []
    for row in rows:
        definition = ctx.workflows.definition(row.workflow_key, row.workflow_version)
        standing = step_status(due_at=row.due_at, warn_at=row.warn_at, ended_at=None, now=ctx.now)
        urgent = ", urgent" if is_urgent(definition, row.state, row.urgent) else ""
        when = spoken_time(row.due_at, definition.calendar.timezone)
        line = (
            f"- {row.reference} ({definition.level_words(row.state)}){urgent}\n"
            f"  {'Was due' if standing.overdue else 'Due'} by {when}\n"
            f"  {ctx.case_url(row.id)}"
        )
        (overdue if standing.overdue else soon).append(line)
    parts = [f"Dear {user.name},", f"The open cases of {user.agency.name} that need attention:"]
    if overdue:
        parts.append(f"Overdue ({len(overdue)}):\n" + "\n".join(overdue))
    if soon:
        parts.append(f"Due soon ({len(soon)}):\n" + "\n".join(soon))
    if total > len(rows):
        parts.append(f"And {total - len(rows)} more.")
    parts += [
        f"See them all on the Overdue page: {ctx.base_url.rstrip('/')}/overdue",
        "You get this e-mail once a day instead of an e-mail for each change. Urgent cases and "
        "e-mails to you by name still come at once. To change this, sign in and choose "
        "How you get e-mails.",
        "This message names cases by their reference only. Sign in to read the records.",
    ]
    day = spoken_time(ctx.now, LONDON, with_time=False)
    return Message(
        to_email=user.email,
        subject=f"Overdue and due soon at {user.agency.name}: {day}",
        body="\n\n".join(parts) + "\n",
        kind="digest",
        case_id=None,
    )
