"""Who is told of what, and what the message says.

A message names the case by its reference only: nothing about the child goes
into an e-mail. It says what happened, what is expected and by when, and links
to the case.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.calendar import to_local
from ..domain.definitions import Definition
from ..models import Case, CaseParty, User
from .core import Context, Message


def recipients(
    session: Session, case: Case, definition: Definition, event: str, exclude: Iterable[int] = ()
) -> list[User]:
    """Return the active users the definition says are told of `event` on this case."""
    audiences = definition.notify.get(event, ())
    skip = set(exclude)
    found: dict[int, User] = {}
    agency_ids = [ca.agency_id for ca in case.agencies]
    if "parties" in audiences:
        for party in case.parties:
            found[party.user_id] = party.user
    if "raiser" in audiences:
        found[case.raised_by_id] = case.raised_by
    roles = [r for r in ("managers", "leads") if r in audiences]
    if roles:
        role_names = [r.removesuffix("s") for r in roles]
        for user in session.scalars(
            select(User).where(
                User.agency_id.in_(agency_ids), User.role.in_(role_names), User.active.is_(True)
            )
        ):
            found[user.id] = user
    if "partnership" in audiences:
        for user in session.scalars(
            select(User).where(User.role == "partnership", User.active.is_(True))
        ):
            found[user.id] = user
    return [u for uid, u in sorted(found.items()) if uid not in skip and u.active]


def when(moment: datetime, definition: Definition) -> str:
    """Return a deadline as people in the partnership read it."""
    local = to_local(moment, definition.calendar)
    return local.strftime("%A %d %B %Y at %H:%M").replace(" 0", " ")


def messages(
    ctx: Context,
    users: Iterable[User],
    *,
    kind: str,
    case: Case,
    subject: str,
    happened: str,
    expected: str,
) -> list[Message]:
    """Return one message per user."""
    link = ctx.case_url(case.id)
    out = []
    for user in users:
        body = (
            f"Dear {user.name},\n\n"
            f"{happened}\n\n"
            f"What is expected: {expected}\n\n"
            f"Open the case: {link}\n\n"
            "This message names the case by its reference only. Sign in to read the record.\n"
        )
        out.append(
            Message(
                to_email=user.email,
                subject=f"{case.reference}: {subject}",
                body=body,
                kind=kind,
                case_id=case.id,
            )
        )
    return out


def party_ids(case: Case) -> set[int]:
    """Return the ids of the users who are parties to a case."""
    return {p.user_id for p in case.parties}


def ensure_party(case: Case, user: User, now: datetime, how: str) -> None:
    """Make the user a party to the case, if they are not one yet."""
    if user.id not in party_ids(case):
        case.parties.append(CaseParty(user_id=user.id, user=user, joined_at=now, how=how))
