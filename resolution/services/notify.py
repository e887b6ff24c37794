"""Who is told of what, and what the message says.

A message names the case by its reference only: nothing about the child goes
into an e-mail. It says what happened, what is expected and by when, and links
to the case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from ..domain import rules, status
from ..domain.calendar import spoken_time
from ..domain.definitions import Definition
from ..domain.machines import Workflows
from ..models import Agency, Case, CaseAgency, CaseParty, User
from .core import Context, Message, UnitOfWork
from .errors import Invalid


@dataclass(frozen=True)
class Person:
    """Whom a message may go to: all a message needs of a user."""

    id: int | None  # None: an agency's contact address, which is no user
    email: str
    name: str
    active: bool = True  # only active users are told (`Recipients.of`)
    agency_id: int | None = None
    digest: bool = False  # takes the daily digest instead (`rules.takes_digest`)


@dataclass(frozen=True)
class Audience:
    """What the notification rules need to know of a case to name whom to tell."""

    case_id: int
    reference: str
    state: str
    definition: Definition
    raiser: Person
    parties: tuple[Person, ...]
    agency_ids: tuple[int, ...]
    urgent: bool = False  # on the urgent route's clock (status.is_urgent)

    @property
    def id(self) -> int:
        """The case's id, as a message names its case."""
        return self.case_id


def audience_of(case: Case, definition: Definition) -> Audience:
    """Return the audience of a loaded case."""
    return Audience(
        case_id=case.id,
        reference=case.reference,
        state=case.state,
        definition=definition,
        raiser=_person(case.raised_by),
        parties=tuple(_person(p.user) for p in case.parties),
        agency_ids=tuple(ca.agency_id for ca in case.agencies),
        urgent=status.is_urgent(definition, case.outcome_level or case.state, case.urgent),
    )


def audiences(session: Session, workflows: Workflows, case_ids: Sequence[int]) -> list[Audience]:
    """Return the audiences of many cases at once, read as plain rows (the sweep's chunks)."""
    cases = session.execute(
        select(
            Case.id, Case.reference, Case.state, Case.workflow_key, Case.workflow_version,
            Case.raised_by_id, Case.urgent, Case.outcome_level,
        ).where(Case.id.in_(case_ids))
    ).all()  # fmt: skip
    parties: dict[int, list[Person]] = defaultdict(list)
    for party in session.execute(
        select(
            CaseParty.case_id,
            User.id,
            User.email,
            User.name,
            User.active,
            User.agency_id,
            User.role,
            User.digest,
        )
        .join(User, User.id == CaseParty.user_id)
        .where(CaseParty.case_id.in_(case_ids))
        .order_by(CaseParty.id)
    ):
        parties[party.case_id].append(
            Person(
                party.id,
                party.email,
                party.name,
                party.active,
                party.agency_id,
                rules.takes_digest(party.role, party.digest),
            )
        )
    agencies: dict[int, list[int]] = defaultdict(list)
    for involved in session.execute(
        select(CaseAgency.case_id, CaseAgency.agency_id).where(CaseAgency.case_id.in_(case_ids))
    ):
        agencies[involved.case_id].append(involved.agency_id)
    raisers = {
        r.id: Person(r.id, r.email, r.name, r.active, None, rules.takes_digest(r.role, r.digest))
        for r in session.execute(
            select(User.id, User.email, User.name, User.active, User.role, User.digest).where(
                User.id.in_({c.raised_by_id for c in cases})
            )
        )
    }
    return [
        Audience(
            case_id=c.id,
            reference=c.reference,
            state=c.state,
            definition=workflows.definition(c.workflow_key, c.workflow_version),
            raiser=raisers[c.raised_by_id],
            parties=tuple(parties[c.id]),
            agency_ids=tuple(agencies[c.id]),
            urgent=status.is_urgent(
                workflows.definition(c.workflow_key, c.workflow_version),
                c.outcome_level or c.state,
                c.urgent,
            ),
        )
        for c in cases
    ]


class Recipients:
    """Who is told of what: the definition's rules applied to some cases' audiences.

    The staff the rules can name (managers and leads of the cases' agencies, the
    partnership) are read once, for every case and event given; a change asks for one
    case, the sweep for a chunk of them. "parties" reaches every agency of a case: its
    people on the case, else (`rules.reach`) its designated leads or its contact address."""

    def __init__(
        self,
        session: Session,
        audiences: Iterable[Audience],
        events: set[str],
        *,
        reach: bool = False,
    ) -> None:
        """`reach`: also read what `reached` needs, whatever the events' rules say."""
        wanted: set[str] = {"parties"} if reach else set()
        agency_ids: set[int] = set()
        for audience in audiences:
            for event in events:
                wanted.update(audience.definition.notify.get(event, ()))
            agency_ids.update(audience.agency_ids)
        roles = {r.removesuffix("s") for r in ("managers", "leads") if r in wanted}
        if "parties" in wanted:
            roles.add("lead")  # an agency with nobody named is reached through its leads
        named = []
        if roles and agency_ids:
            named.append(and_(User.agency_id.in_(agency_ids), User.role.in_(roles)))
        if "partnership" in wanted:
            named.append(User.role == "partnership")
        self._staff: dict[tuple[int | None, str], list[Person]] = defaultdict(list)
        if named:
            for row in session.execute(
                select(
                    User.id,
                    User.email,
                    User.name,
                    User.active,
                    User.agency_id,
                    User.role,
                    User.digest,
                ).where(or_(false(), *named))
            ):
                agency = None if row.role == "partnership" else row.agency_id
                self._staff[(agency, row.role)].append(
                    Person(
                        row.id,
                        row.email,
                        row.name,
                        row.active,
                        row.agency_id,
                        rules.takes_digest(row.role, row.digest),
                    )
                )
        self._contacts: dict[int, Person] = {}
        if "parties" in wanted and agency_ids:
            for agency in session.execute(
                select(Agency.id, Agency.name, Agency.contact_email).where(
                    Agency.id.in_(agency_ids), Agency.contact_email.is_not(None)
                )
            ):
                self._contacts[agency.id] = Person(
                    None, str(agency.contact_email), agency.name, True, agency.id
                )

    def reached(self, audience: Audience, agency_id: int) -> list[Person]:
        """Return who stands for an agency of the case that has no active party: its active
        designated leads, else its contact address (`rules.reach`); else nobody."""
        named = any(p.agency_id == agency_id and p.active for p in audience.parties)
        leads = [p for p in self._staff[(agency_id, "lead")] if p.active]
        contact = self._contacts.get(agency_id)
        how = rules.reach(named, bool(leads), contact is not None)
        if how == rules.LEADS:
            return leads
        return [contact] if how == rules.CONTACT and contact is not None else []

    def of(self, audience: Audience, event: str, exclude: Iterable[int] = ()) -> list[Person]:
        """Return who the case's definition says is told of `event`, each address once.

        Those who chose the daily digest are left out: the events of the definition's rules
        (whatever the rule that names them) wait for the digest's list of what is overdue and
        due soon. An urgent case's events still go at once (24 hours is too short to wait for
        the morning); so do e-mails to a person by name, sent without these rules (brought
        into a case, handed one, a proposer's answer, a password reset)."""
        rules_ = audience.definition.notify.get(event, ())
        found: dict[str, Person] = {}
        if "parties" in rules_:
            found.update((p.email, p) for p in audience.parties)
            for agency_id in audience.agency_ids:
                found.update((p.email, p) for p in self.reached(audience, agency_id))
        if "raiser" in rules_:
            found[audience.raiser.email] = audience.raiser
        for rule in ("managers", "leads"):
            if rule in rules_:
                for agency_id in audience.agency_ids:
                    found.update((p.email, p) for p in self._staff[(agency_id, rule[:-1])])
        if "partnership" in rules_:
            found.update((p.email, p) for p in self._staff[(None, "partnership")])
        skip = set(exclude)
        told = [
            p
            for p in found.values()
            if p.active and (p.id is None or p.id not in skip) and (audience.urgent or not p.digest)
        ]
        return sorted(told, key=lambda p: (p.id is None, p.id or 0, p.email))


def reaches(
    session: Session, agencies: Sequence[Agency], people: Iterable[User]
) -> list[tuple[Agency, str | None]]:
    """Return how each agency would be reached on a case naming `people` (`rules.reach`):
    what raising and adding agencies check, and what the pages say."""
    named = {p.agency_id for p in people if p.active}
    ids = [a.id for a in agencies]
    leads = set(
        session.scalars(
            select(User.agency_id).where(
                User.agency_id.in_(ids), User.role == "lead", User.active.is_(True)
            )
        )
    )
    return [(a, rules.reach(a.id in named, a.id in leads, bool(a.contact_email))) for a in agencies]


def refuse_unreached(session: Session, reached: Sequence[tuple[Agency, str | None]]) -> None:
    """Refuse, by field, an agency that would reach nobody, saying whom to ask."""
    for agency, how in reached:
        if how is None:
            raise Invalid.field(
                "with_agencies",
                f"nobody at {agency.name} would be told of this case: name someone there, "
                f"or ask {ask_whom(session)} to give {agency.name} a designated lead or a "
                "contact address",
            )


def ask_whom(session: Session) -> str:
    """Return whom to ask about agencies and accounts: the active administrators."""
    admins = list(
        session.scalars(
            select(User.email)
            .where(User.role == "admin", User.active.is_(True))
            .order_by(User.email)
            .limit(3)
        )
    )
    return (
        f"an administrator ({', '.join(admins)})" if admins else "the partnership's administrator"
    )


def recipients(
    session: Session, case: Case, definition: Definition, event: str, exclude: Iterable[int] = ()
) -> list[Person]:
    """Return the active users the definition says are told of `event` on one case."""
    audience = audience_of(case, definition)
    return Recipients(session, [audience], {event}).of(audience, event, exclude)


def _person(user: User) -> Person:
    return Person(
        user.id,
        user.email,
        user.name,
        user.active,
        user.agency_id,
        rules.takes_digest(user.role, user.digest),
    )


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
    urgent: bool = False,
) -> list[Message]:
    """Return one message per user: the same text, addressed to each; `urgent` (the case is on
    the urgent route's clock) says so first in the subject."""
    text = (
        f"{happened}\n\n"
        f"What is expected: {expected}\n\n"
        f"Open the case: {ctx.case_url(case.id)}\n\n"
        "This message names the case by its reference only. Sign in to read the record.\n"
    )
    full_subject = f"{'Urgent: ' if urgent else ''}{case.reference}: {subject}"
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
