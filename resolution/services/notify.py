"""Who is told of what, and what the message says.

A message names the case by its reference only: nothing about the child goes
into an e-mail. It says what happened, what is expected and by when, and links
to the case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Select, and_, bindparam, false, literal, or_, select, true

from ..domain.calendar import to_local
from ..domain.definitions import Definition
from ..models import Case, CaseParty, User
from .core import Context, Message, UnitOfWork


@dataclass(frozen=True)
class Person:
    """Whom a message goes to: all a message needs of a user."""

    id: int
    email: str
    name: str


_USER = User.__table__


@lru_cache(maxsize=64)
def _staff(agencies: int, roles: tuple[str, ...], everywhere: bool) -> Select[Any]:
    """The active users with one of `roles` in any of so many agencies, or everywhere.

    One statement per shape, built once: plain parameters, no expanding lists, so the
    unit of work sends it straight to the driver."""
    found = []
    if agencies and roles:
        found.append(
            and_(
                _USER.c.agency_id.in_([bindparam(f"agency_{i}") for i in range(agencies)]),
                _USER.c.role.in_([literal(role) for role in roles]),
            )
        )
    if everywhere:
        found.append(_USER.c.role == literal("partnership"))
    return select(_USER.c.id, _USER.c.email, _USER.c.name).where(
        _USER.c.active == true(), or_(false(), *found)
    )


def recipients(
    uow: UnitOfWork, case: Case, definition: Definition, event: str, exclude: Iterable[int] = ()
) -> list[Person]:
    """Return the active users the definition says are told of `event` on this case."""
    audiences = definition.notify.get(event, ())
    skip = set(exclude)
    found: dict[int, Person] = {}
    if "parties" in audiences:
        for party in case.parties:
            if party.user.active:
                found[party.user_id] = _person(party.user)
    if "raiser" in audiences and case.raised_by.active:
        found[case.raised_by_id] = _person(case.raised_by)
    roles = tuple(r.removesuffix("s") for r in ("managers", "leads") if r in audiences)
    everywhere = "partnership" in audiences
    if roles or everywhere:
        agencies = [ca.agency_id for ca in case.agencies]
        rows = uow.execute(
            _staff(len(agencies), roles, everywhere),
            {f"agency_{i}": agency for i, agency in enumerate(agencies)},
        ).fetchall()
        found.update((uid, Person(uid, email, name)) for uid, email, name in rows)
    return [person for uid, person in sorted(found.items()) if uid not in skip]


def _person(user: User) -> Person:
    return Person(user.id, user.email, user.name)


def when(moment: datetime, definition: Definition) -> str:
    """Return a deadline as people in the partnership read it."""
    local = to_local(moment, definition.calendar)
    return local.strftime("%A %d %B %Y at %H:%M").replace(" 0", " ")


class CaseNamed(Protocol):
    """What a message needs of a case: an ORM case or the sweep's plain facts."""

    @property
    def id(self) -> int: ...

    @property
    def reference(self) -> str: ...


def messages(
    ctx: Context,
    users: Iterable[Person],
    *,
    kind: str,
    case: CaseNamed,
    subject: str,
    happened: str,
    expected: str,
) -> list[Message]:
    """Return one message per user: the same text, addressed to each."""
    text = (
        f"{happened}\n\n"
        f"What is expected: {expected}\n\n"
        f"Open the case: {ctx.case_url(case.id)}\n\n"
        "This message names the case by its reference only. Sign in to read the record.\n"
    )
    full_subject = f"{case.reference}: {subject}"
    return [
        Message(
            to_email=user.email,
            subject=full_subject,
            body=f"Dear {user.name},\n\n{text}",
            kind=kind,
            case_id=case.id,
        )
        for user in users
    ]


def party_ids(case: Case) -> set[int]:
    """Return the ids of the users who are parties to a case."""
    return {p.user_id for p in case.parties}


def ensure_party(uow: UnitOfWork, case: Case, user: User, how: str) -> None:
    """Make the user a party to the case, if they are not one yet."""
    if user.id not in party_ids(case):
        party = uow.add(
            CaseParty, case_id=case.id, user_id=user.id, user=user, joined_at=uow.now, how=how
        )
        uow.append(case, "parties", party)
