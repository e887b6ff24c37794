"""Who may see and do what on a case, and the fixed vocabularies and limits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from .calendar import Calendar, next_working_day, spoken_day, to_local
from .definitions import CHALLENGED, RAISING, Action, Definition

CATEGORIES = {
    "threshold": "Threshold or referral decision",
    "assessment": "Assessment outcome",
    "roles": "Roles and responsibilities",
    "services_plan": "Services or plan",
    "information_sharing": "Information sharing",
    "meetings": "Attendance at meetings",
    "cp_medical": "Child protection medical",
    "other": "Other",
}

THEMES = {
    "professional_curiosity": "Professional curiosity",
    "neglect": "Neglect",
    "supervision": "Supervision",
    "domestic_abuse": "Domestic abuse",
    "information_sharing": "Information sharing",
    "bereavement": "Bereavement",
    "culture_identity": "Culture and identity",
    "thresholds": "Understanding of thresholds",
    "voice_of_child": "Voice of the child",
    "multi_agency_working": "Multi-agency working",
}

RECORD_KINDS = ("discussion", "action", "decision", "note")
OUTCOME_KINDS = ("resolved", "withdrawn", "referred")

MAX_SUMMARY = 4000
MAX_RECORD = 10000
MAX_REASON = 1000
MAX_OUTCOME = 4000
MAX_LEARNING = 4000
MAX_REFERRED_TO = 200

# The reference the agencies already use: letters, digits and a few separators.
CHILD_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/\-.]{1,39}$")
INITIALS_RE = re.compile(r"^[A-Z]{1,4}$")

# Text may hold tabs and line breaks but no other control character: no database keeps
# a NUL, and the others only hide what a record says. The pattern reads the same in
# Python and in the OpenAPI description (ECMA-262).
PRINTABLE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
PRINTABLE_RE = re.compile(PRINTABLE_PATTERN)
NOT_PRINTABLE = "Text must not contain control characters (such as NUL), only tabs and new lines"

# The instants and days the service takes, by year: far from the ends of Python's and the
# databases' calendars, so no conversion between time zones can overflow.
FIRST_YEAR = 1900
LAST_YEAR = 2200
OUT_OF_RANGE = f"The date must be in the years {FIRST_YEAR} to {LAST_YEAR}"
MAX_PAGE = 2**31 - 1  # the largest page number, as the API's largest integer


def printable(text: str) -> bool:
    """Say whether text holds no control character other than tab, carriage return, line feed."""
    return PRINTABLE_RE.match(text) is not None


def in_range(value: date) -> bool:
    """Say whether a day or an instant (a datetime is a date) lies in the years the service takes."""
    return FIRST_YEAR <= value.year <= LAST_YEAR


@dataclass(frozen=True)
class Actor:
    """The signed-in user, as the domain needs to see them."""

    id: int
    role: str
    agency: str


@dataclass(frozen=True)
class PendingClosing:
    """A closing proposed at the case's current level, waiting for the other side: by someone
    of `agency`."""

    agency: str
    by_id: int


@dataclass(frozen=True)
class CaseAccess:
    """The facts about a case that decide who may see and act on it."""

    raiser_id: int
    party_ids: frozenset[int]
    agencies: frozenset[str]
    state: str
    closed: bool
    raising_agency: str = ""
    closing: PendingClosing | None = None  # a closing that waits for an answer


# Who may use which part of the service, by role (the pages, the API and the services ask
# these; who may see and change a given case is decided by the functions below).
ACTORS = ("practitioner", "manager", "lead", "partnership")  # act on cases
RAISERS = ("practitioner", "manager", "lead")  # raise disagreements
OVERSEERS = ("manager", "lead", "partnership")  # follow what is overdue
READERS = ("auditor", "partnership")  # read the outcome log, the figures, the history
CASE_READERS = (*ACTORS, "auditor")  # open a case's page
DIGEST_ROLES = ("manager", "lead")  # may take one daily e-mail instead of one per event


def takes_digest(role: str, chosen: bool) -> bool:
    """Say whether a user gets the daily digest instead of e-mails per event: they chose it
    and their role may (a choice kept from an earlier role counts for nothing)."""
    return chosen and role in DIGEST_ROLES


# Who may see which cases, by role: every case ("all"), the cases their agency is
# involved in ("agency"), the cases they are a party to ("party"). A role sees the
# cases any of its grants gives. `can_see` answers for one case, and the listing
# query (services.queries.visible_cases) is built from the same grants.
ALL, AGENCY, PARTY = "all", "agency", "party"
SCOPES: dict[str, frozenset[str]] = {
    "auditor": frozenset({ALL}),
    "partnership": frozenset({ALL}),
    "manager": frozenset({AGENCY, PARTY}),
    "lead": frozenset({AGENCY, PARTY}),
    "practitioner": frozenset({PARTY}),
    "admin": frozenset(),  # admins manage accounts, not cases
}


def scope(role: str) -> frozenset[str]:
    """Return the grants that decide which cases a role may see."""
    return SCOPES.get(role, frozenset())


def can_see(actor: Actor, case: CaseAccess) -> bool:
    """Say whether the actor may read the case."""
    grants = scope(actor.role)
    return (
        ALL in grants
        or (AGENCY in grants and actor.agency in case.agencies)
        or (PARTY in grants and actor.id in case.party_ids)
    )


# How an agency on a case is reached (told of it, and able to open it): through its people
# on the case; else, when none is named, its designated leads (who see every case of their
# agency); else its contact address. An agency with none of them cannot be on a case.
PEOPLE, LEADS, CONTACT = "people", "leads", "contact"


def reach(named: bool, leads: bool, contact: bool) -> str | None:
    """Say how an agency on a case is reached: `named`, someone of it is an active party;
    `leads`, it has active designated leads; `contact`, a contact address. None: nobody."""
    if named:
        return PEOPLE
    if leads:
        return LEADS
    if contact:
        return CONTACT
    return None


# Nothing changes on a closed case: no record, acknowledgement, timescale or action.
# Every function below answers False for one, and the services refuse with a conflict.


def acting_at_level(actor: Actor, case: CaseAccess, definition: Definition) -> bool:
    """Say whether the actor's role acts at the case's current level."""
    if case.closed or actor.role not in definition.level(case.state).acts:
        return False
    return actor.role == "partnership" or actor.agency in case.agencies


def is_party(actor: Actor, case: CaseAccess) -> bool:
    """Say whether the actor is a named party to the case."""
    return actor.id in case.party_ids


def may_write(actor: Actor, case: CaseAccess, definition: Definition) -> bool:
    """Say whether the actor may add to the shared record of an open case."""
    if case.closed or actor.role in ("auditor", "admin"):
        return False
    return is_party(actor, case) or acting_at_level(actor, case, definition)


def may_acknowledge(actor: Actor, case: CaseAccess, definition: Definition) -> bool:
    """Say whether the actor may mark records of the case as read."""
    return may_write(actor, case, definition)


def should_read(actor: Actor, author_id: int, readers: Iterable[int]) -> bool:
    """Say whether a record is still waiting for the actor to read it."""
    return author_id != actor.id and actor.id not in set(readers)


def may_propose(actor: Actor, case: CaseAccess, definition: Definition) -> bool:
    """Say whether the actor may propose a timescale for the current level."""
    return definition.agreed_between_parties and may_write(actor, case, definition)


@dataclass(frozen=True)
class Proposal:
    """A timescale proposed at a case's current level: by someone of `agency`, due `due_at`."""

    agency: str
    due_at: datetime


def may_accept(
    actor: Actor,
    case: CaseAccess,
    definition: Definition,
    proposal: Proposal | None,
    now: datetime,
) -> bool:
    """Say whether the actor may accept the proposed timescale now: a party of another agency
    than the proposer's, while the proposed date is still ahead."""
    return (
        proposal is not None
        and proposal.due_at > now
        and proposal.agency != actor.agency
        and may_write(actor, case, definition)
    )


def may_decline(
    actor: Actor, case: CaseAccess, definition: Definition, proposal: Proposal | None
) -> bool:
    """Say whether the actor may decline the proposed timescale: a party of another agency
    than the proposer's (a date that has passed may still be declined)."""
    return (
        proposal is not None
        and proposal.agency != actor.agency
        and may_write(actor, case, definition)
    )


def due_day_problem(due_at: datetime, calendar: Calendar) -> str | None:
    """Say why a proposed due date cannot be taken: it falls on a day the definition's
    calendar is closed (a weekend, a bank holiday, a closure day); None when it can."""
    day = to_local(due_at, calendar).date()
    if calendar.is_working_day(day):
        return None
    return (
        f"{day:%A} {spoken_day(day)} is not a working day: choose a working day, "
        f"such as {next_working_day(day, calendar):%A} {spoken_day(next_working_day(day, calendar))}"
    )


@dataclass(frozen=True)
class Owner:
    """Who owns an agreed action: the author of its record, of `agency`."""

    id: int
    agency: str


def may_end_action(actor: Actor, case: CaseAccess, definition: Definition, owner: Owner) -> bool:
    """Say whether the actor may mark an agreed action done or withdraw it: its owner, a
    party of the owner's agency, or whoever acts at the case's current level."""
    if not (can_see(actor, case) and may_write(actor, case, definition)):
        return False
    return (
        actor.id == owner.id
        or (is_party(actor, case) and actor.agency == owner.agency)
        or acting_at_level(actor, case, definition)
    )


def may_take(actor: Actor, case: CaseAccess, definition: Definition, action: Action) -> bool:
    """Say whether the actor's role and involvement allow this action now: a closing that
    needs agreement is not taken while another waits for an answer, and an action the
    definition gives to one side (`agency`) is that side's."""
    if case.closed or actor.role in ("auditor", "admin"):
        return False
    level = definition.level(case.state)
    if case.closing is not None and action.needs_agreement(level):
        return False
    if action.agency == RAISING and actor.agency != case.raising_agency:
        return False
    if action.agency == CHALLENGED and actor.agency == case.raising_agency:
        return False
    if action.raiser_may and actor.id == case.raiser_id:
        return True
    if actor.role not in action.allowed_roles(level):
        return False
    if actor.role == "partnership":
        return True
    if actor.role == "practitioner":
        return is_party(actor, case)
    return actor.agency in case.agencies or is_party(actor, case)


STAFF = ("manager", "lead")  # the staff of an agency who answer for its people


def may_add_parties(actor: Actor, case: CaseAccess) -> bool:
    """Say whether the actor may bring more people and agencies into an open case: a
    party, or a manager or lead of an agency on the case."""
    if case.closed or actor.role in ("auditor", "admin"):
        return False
    return is_party(actor, case) or (actor.role in STAFF and actor.agency in case.agencies)


def may_hand_over(actor: Actor, case: CaseAccess, agency: str) -> bool:
    """Say whether the actor may hand over the part in an open case of someone of `agency`
    (to a colleague of the same agency): a manager or lead of that agency."""
    if case.closed or actor.role not in STAFF or actor.agency != agency:
        return False
    return agency in case.agencies


def may_answer_closing(actor: Actor, case: CaseAccess, definition: Definition) -> bool:
    """Say whether the actor may confirm or decline the closing proposed on a case: a party
    of another agency involved than the proposer's."""
    closing = case.closing
    return (
        closing is not None
        and can_see(actor, case)
        and actor.agency != closing.agency
        and actor.agency in case.agencies
        and may_write(actor, case, definition)
    )
