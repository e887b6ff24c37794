"""Who is told of what, and what the message says.

A message names the case by its reference only: nothing about the child goes
into an e-mail. It says what happened, what is expected and by when, and links
to the case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from ..domain.calendar import spoken_time
from ..domain.definitions import Definition
from ..models import Case, CaseParty, User
from .core import Context, Message, UnitOfWork


@dataclass(frozen=True)
class Person:
    """Whom a message goes to: all a message needs of a user."""

    id: int
    email: str
    name: str


@dataclass(frozen=True)
class Audience:
    """What the notification rules need to know of a case to name whom to tell."""

    case_id: int
    definition: Definition
    raiser: Person | None  # None when the raiser's account is not active
    parties: tuple[Person, ...]  # the active ones
    agency_ids: tuple[int, ...]


def audience_of(case: Case, definition: Definition) -> Audience:
    """Return the audience facts of a loaded case."""
    return Audience(
        case_id=case.id,
        definition=definition,
        raiser=_person(case.raised_by) if case.raised_by.active else None,
        parties=tuple(_person(p.user) for p in case.parties if p.user.active),
        agency_ids=tuple(ca.agency_id for ca in case.agencies),
    )


class Recipients:
    """Who is told of what: the definition's rules applied to some cases' audiences.

    The staff the rules can name (managers and leads of the cases' agencies, the
    partnership) are read once, for every case and event given; a change asks for one
    case, the sweep for a chunk of them."""

    def __init__(self, session: Session, audiences: Iterable[Audience], events: set[str]) -> None:
        wanted: set[str] = set()
        agency_ids: set[int] = set()
        for audience in audiences:
            for event in events:
                wanted.update(audience.definition.notify.get(event, ()))
            agency_ids.update(audience.agency_ids)
        roles = [r.removesuffix("s") for r in ("managers", "leads") if r in wanted]
        named = []
        if roles and agency_ids:
            named.append(and_(User.agency_id.in_(agency_ids), User.role.in_(roles)))
        if "partnership" in wanted:
            named.append(User.role == "partnership")
        self._staff: dict[tuple[int | None, str], list[Person]] = defaultdict(list)
        if named:
            for row in session.execute(
                select(User.id, User.email, User.name, User.agency_id, User.role).where(
                    User.active.is_(True), or_(false(), *named)
                )
            ):
                agency = None if row.role == "partnership" else row.agency_id
                self._staff[(agency, row.role)].append(Person(row.id, row.email, row.name))

    def of(self, audience: Audience, event: str, exclude: Iterable[int] = ()) -> list[Person]:
        """Return who the case's definition says is told of `event`, each once, by id."""
        rules = audience.definition.notify.get(event, ())
        found: dict[int, Person] = {}
        if "parties" in rules:
            found.update((p.id, p) for p in audience.parties)
        if "raiser" in rules and audience.raiser is not None:
            found[audience.raiser.id] = audience.raiser
        for rule in ("managers", "leads"):
            if rule in rules:
                for agency_id in audience.agency_ids:
                    found.update((p.id, p) for p in self._staff[(agency_id, rule[:-1])])
        if "partnership" in rules:
            found.update((p.id, p) for p in self._staff[(None, "partnership")])
        skip = set(exclude)
        return [found[k] for k in sorted(found) if k not in skip]


def recipients(
    session: Session, case: Case, definition: Definition, event: str, exclude: Iterable[int] = ()
) -> list[Person]:
    """Return the active users the definition says are told of `event` on one case."""
    audience = audience_of(case, definition)
    return Recipients(session, [audience], {event}).of(audience, event, exclude)


def _person(user: User) -> Person:
    return Person(user.id, user.email, user.name)


def when(moment: datetime, definition: Definition) -> str:
    """Return a deadline as people in the partnership read it, e.g. '5pm on 9 March 2026'."""
    return spoken_time(moment, definition.calendar.timezone)


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


def ensure_party(uow: UnitOfWork, case: Case, user: User, how: str) -> None:
    """Make the user a party to the case, if they are not one yet."""
    if all(p.user_id != user.id for p in case.parties):
        case.parties.append(CaseParty(user=user, user_id=user.id, joined_at=uow.now, how=how))
