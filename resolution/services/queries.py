"""Reading cases: what a user may see, as plain data for every door."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    Select,
    bindparam,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    union,
)
from sqlalchemy import case as sql_case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.functions import FunctionElement

from ..domain import rules
from ..domain.definitions import Definition
from ..domain.machines import Workflows
from ..models import (
    Acknowledgement,
    Agency,
    AuditEvent,
    Case,
    CaseAgency,
    CaseParty,
    CaseTheme,
    Record,
    Step,
    User,
)
from . import driver
from .cases import access_of, actor_of
from .core import Context
from .core import head as core_head
from .errors import Invalid, NotFound


def _scope(user: User) -> tuple[Any, ...]:
    """Return what decides the cases a user may see: everything, an agency's, their own
    as a party, or none. `visible_cases` builds its query from it; the overdue counts are
    kept per scope."""
    if user.role in ("auditor", "partnership"):
        return ("all",)
    if user.role in ("manager", "lead"):
        return ("agency", user.agency_id)
    if user.role == "practitioner":
        return ("party", user.id)
    return ("none",)  # admins manage accounts, not cases


def visible_cases(user: User) -> Select[tuple[Case]]:
    """Return a query of the cases this user may see: every listing starts here."""
    query = select(Case)
    kind, *which = _scope(user)
    if kind == "all":
        return query
    if kind == "agency":
        # Their agency's cases. A manager or lead who is a party is always of an involved
        # agency (raise_case names people of the named agencies only, and only those whose
        # agency is involved act), so no second test: with one, PostgreSQL hashes every
        # case of the agency before it can answer a page of them.
        return query.where(
            exists().where(CaseAgency.case_id == Case.id, CaseAgency.agency_id == which[0])
        )
    if kind == "party":
        return query.where(
            exists().where(CaseParty.case_id == Case.id, CaseParty.user_id == which[0])
        )
    return query.where(Case.id < 0)


# A case with its agencies, parties, steps and themes in one joined query: a read costs
# one round trip to the database for them instead of one for each.
WHOLE_CASE = (
    joinedload(Case.agencies),
    joinedload(Case.parties),
    joinedload(Case.steps),
    joinedload(Case.themes),
)


def own_cases(user: User, workflows: Workflows) -> Select[tuple[Case]]:
    """Return a query of the cases that are the user's own: where they are a party, or
    (for managers, leads and the partnership) where a case they may see is at a level
    their role acts at. An agency's whole caseload is `open_cases`' business."""
    query = visible_cases(user)
    if user.role == "practitioner":
        return query
    at_my_level = [
        (Case.workflow_key == d.key) & (Case.workflow_version == d.version) & (Case.state == lv.key)
        for d in workflows.registry.all()
        for lv in d.levels
        if user.role in lv.acts
    ]
    # Two short lists of ids, each from its index, rather than a test of every visible
    # case (an OR of an EXISTS and the levels cannot use either index). A case at a
    # level is open: saying so lets the open cases' (closed, state) index find them.
    mine = select(CaseParty.case_id).where(CaseParty.user_id == user.id)
    if at_my_level:
        mine = union(
            mine, select(Case.id).where(Case.closed == false(), or_(*at_my_level))
        ).subquery()
        return query.where(Case.id.in_(select(mine.c[0])))
    return query.where(Case.id.in_(mine))


@dataclass(frozen=True)
class ClosedRow:
    """A closed case as a list shows it."""

    id: int
    reference: str
    child_ref: str
    outcome_kind: str | None
    agencies: list[tuple[str, str]]  # (code, name), in the order they joined


def recently_closed(session: Session, user: User, limit: int) -> list[ClosedRow]:
    """Return the cases the user may see that closed most recently, newest first."""
    # A closed case has a closing time: saying so lets the newest be read from the end
    # of the closing-time index without first passing every open case's empty one.
    query = (
        visible_cases(user)
        .with_only_columns(Case.id, Case.reference, Case.child_ref, Case.outcome_kind, _AGENCIES)
        .where(Case.closed.is_(True), Case.closed_at.is_not(None))
        .order_by(Case.closed_at.desc(), Case.id.desc())
        .limit(limit)
    )
    return [
        ClosedRow(*row[:4], agencies=_agency_names(row.agencies)) for row in session.execute(query)
    ]


def _agency_names(agencies: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """Return a case's agencies, as `_AGENCIES` reads them, as (code, name) in order."""
    return [(a["code"], a["name"]) for a in sorted(agencies or (), key=itemgetter("n"))]


def get_case(session: Session, user: User, case_id: int) -> Case:
    """Return a case the user may see, or refuse as if it did not exist."""
    case = session.get(Case, case_id, options=WHOLE_CASE)
    if case is None or not user.active or not rules.can_see(actor_of(user), access_of(case)):
        raise NotFound(f"no case {case_id}")
    return case


@dataclass(frozen=True)
class CaseFilter:
    state: str | None = None  # open / closed
    overdue: bool | None = None
    agency: str | None = None
    stage: str | None = None
    page: int = 1
    per_page: int = 20


def list_cases(
    session: Session, user: User, flt: CaseFilter, now: datetime
) -> tuple[list[int], int]:
    """Return the ids of one page of the cases the user may see, oldest first, and the total."""
    if flt.state not in (None, "open", "closed"):
        raise Invalid.field("state", "must be open or closed")
    if not 1 <= flt.per_page <= 100:
        raise Invalid.field("per_page", "must be 1 to 100")
    if flt.page < 1:
        raise Invalid.field("page", "must be 1 or more")
    query = visible_cases(user)
    if flt.state == "open":
        query = query.where(Case.closed == false())
    elif flt.state == "closed":
        query = query.where(Case.closed.is_(True))
    if flt.overdue is not None:
        late = exists().where(Step.case_id == Case.id, Step.ended_at.is_(None), Step.due_at < now)
        # Only an open case has an open step: saying so lets the page walk the open cases
        # (written `= false`, not `IS false`, which PostgreSQL cannot match to the index).
        query = query.where(late, Case.closed == false()) if flt.overdue else query.where(~late)
    if flt.agency:
        query = query.where(
            exists().where(
                CaseAgency.case_id == Case.id,
                CaseAgency.agency_id
                == select(Agency.id).where(Agency.code == flt.agency.upper()).scalar_subquery(),
            )
        )
    if flt.stage:
        query = query.where(Case.state == flt.stage)
    if flt.overdue and flt.state != "closed" and not flt.agency:
        # The overdue open cases the user can see are counted per level already.
        late = _level_counts(session, user, now)
        total = sum(r[4] for r in late if not flt.stage or r[2] == flt.stage)
    else:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    ids = list(
        session.scalars(
            query.with_only_columns(Case.id)
            .order_by(Case.id)
            .offset((flt.page - 1) * flt.per_page)
            .limit(flt.per_page)
        )
    )
    return ids, int(total or 0)


# Reading a case for its view: one statement, whose row carries the case's columns and
# its collections as JSON arrays, made into the view's dicts directly. The ORM's joined
# query for a case and its collections cost more to plan on PostgreSQL (ten tables) and
# to turn into objects than the rest of a read together, and a statement per collection
# costs a round trip each, which under load is what a read spends most on (each one
# taken out of the read of a case gave ~19% more reads a second). One statement is also
# one snapshot: the case, its steps and its records are always of the same moment.
_CASE_T, _CA, _AG = Case.__table__, CaseAgency.__table__, Agency.__table__
_CP, _ST, _REC = CaseParty.__table__, Step.__table__, Record.__table__
_ACK, _THEME, _USER = Acknowledgement.__table__, CaseTheme.__table__, User.__table__
_PEOPLE = (
    select(_USER.c.id, _USER.c.name, _USER.c.email, _AG.c.code.label("agency"), _USER.c.role)
    .join_from(_USER, _AG, _USER.c.agency_id == _AG.c.id)
    .where(_USER.c.id.in_(bindparam("id", expanding=True)))
)


class json_rows(FunctionElement[Any]):  # noqa: N801 (an SQL function, named as one)
    """A JSON array of one object per row, from alternating keys and columns:
    `json_rows("code", Agency.code, ...)`. PostgreSQL: json_agg(json_build_object(...)),
    NULL without rows; SQLite: json_group_array(json_object(...)), [] without rows.
    The order of the objects is not defined: give them a key to sort by. Booleans come
    back as 0/1 from SQLite and instants as text: see `_instant`."""

    type = JSON()
    inherit_cache = True
    name = "json_rows"

    def __init__(self, *pairs: Any) -> None:
        keys, columns = pairs[::2], pairs[1::2]
        # The keys are this module's constants, written into the SQL as literals.
        if not all(isinstance(k, str) and k.isidentifier() for k in keys):
            raise ValueError(f"json_rows keys must be plain names, not {keys!r}")
        super().__init__(
            *(x for k, c in zip(keys, columns, strict=True) for x in (literal_column(f"'{k}'"), c))
        )


@compiles(json_rows)
def _json_rows(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_object({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_agg(json_build_object({compiler.process(element.clauses, **kw)}))"


def _instant(value: str | None) -> datetime | None:
    """Return an instant from its JSON text: PostgreSQL writes it with its offset, SQLite
    as stored (UTC without an offset); as `UTCDateTime` reads it from a column."""
    if value is None:
        return None
    found = datetime.fromisoformat(value)
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def _column(name: str, query: Select[Any], case_id: Any) -> Any:
    """Return `query`, about the case of the outer row, as a column named `name`."""
    return query.where(case_id == _CASE_T.c.id).scalar_subquery().label(name)


_AGENCIES = _column(
    "agencies",
    select(
        json_rows("n", _CA.c.id, "code", _AG.c.code, "name", _AG.c.name, "raising", _CA.c.raising)
    ).join_from(_CA, _AG, _CA.c.agency_id == _AG.c.id),
    _CA.c.case_id,
)
_PARTIES = _column(
    "parties",
    select(
        json_rows(
            "n",
            _CP.c.id,
            "id",
            _USER.c.id,
            "name",
            _USER.c.name,
            "email",
            _USER.c.email,
            "agency",
            _AG.c.code,
            "role",
            _USER.c.role,
        )  # fmt: skip
    )
    .join_from(_CP, _USER, _CP.c.user_id == _USER.c.id)
    .join(_AG, _USER.c.agency_id == _AG.c.id),
    _CP.c.case_id,
)
# Theme keys are words without commas.
_THEMES = _column("themes", select(func.aggregate_strings(_THEME.c.theme, ",")), _THEME.c.case_id)
_STEP_KEYS = (
    "number", "level", "started_at", "due_at", "warn_at", "ended_at", "timescale_status",
    "proposed_due_at", "proposed_by_id", "proposed_reason", "agreed_by_id",
    "agreed_proposer_id", "agreed_reason", "overdue_at", "went_overdue",
)  # fmt: skip
_STEP_INSTANTS = ("started_at", "due_at", "warn_at", "ended_at", "proposed_due_at", "overdue_at")
_STEPS = select(json_rows(*(x for k in _STEP_KEYS for x in (k, _ST.c[k]))))
_ALL_STEPS = _column("steps", _STEPS, _ST.c.case_id)
# An open case has exactly one open step, its current one; a closed case has none.
_CURRENT_STEP = _column("steps", _STEPS.where(_ST.c.ended_at.is_(None)), _ST.c.case_id)
_RECORD_KEYS = (
    "id", "kind", "text", "author_id", "at", "step_number", "action_due_at", "corrects_id",
)  # fmt: skip
_RECORDS = _column(
    "records",
    select(json_rows(*(x for k in _RECORD_KEYS for x in (k, _REC.c[k])))),
    _REC.c.case_id,
)
_ACKNOWLEDGEMENTS = _column(
    "acknowledgements",
    select(
        json_rows(
            "n", _ACK.c.id, "record", _ACK.c.record_id, "user", _ACK.c.user_id, "at", _ACK.c.at
        )
    ).join_from(_ACK, _REC, _ACK.c.record_id == _REC.c.id),
    _REC.c.case_id,
)
_ONE_CASE = select(
    _CASE_T, _AGENCIES, _PARTIES, _THEMES, _ALL_STEPS, _RECORDS, _ACKNOWLEDGEMENTS
).where(_CASE_T.c.id == bindparam("id"))
_PAGE_OF_CASES = select(_CASE_T, _AGENCIES, _PARTIES, _THEMES, _CURRENT_STEP).where(
    _CASE_T.c.id.in_(bindparam("id", expanding=True))
)

People = dict[int, dict[str, Any]]  # user id -> the person as the API shows them
PERSON_KEYS = ("name", "email", "agency", "role")


def step_view(
    step: Mapping[str, Any], definition: Definition, now: datetime, people: People
) -> dict[str, Any]:
    """Return one step (as `_STEPS` gives it) as plain data, its people from `people`."""
    agreed_by = []
    if step["timescale_status"] == "agreed" and step["agreed_proposer_id"] and step["agreed_by_id"]:
        agreed_by = [people[step["agreed_proposer_id"]], people[step["agreed_by_id"]]]
    level = definition.level(step["level"])
    ended_at, due_at = step["ended_at"], step["due_at"]
    overdue = ended_at is None and due_at < now
    return {
        "number": step["number"],
        "stage": step["level"],
        "title": level.title,
        "started_at": step["started_at"],
        "due_at": due_at,
        "warn_at": step["warn_at"],
        "ended_at": ended_at,
        "timescale": {
            "status": step["timescale_status"],
            "default": str(level.timescale),
            "agreed_by": agreed_by,
            "reason": step["agreed_reason"]
            if step["timescale_status"] == "agreed"
            else step["proposed_reason"],
            "proposed_due_at": step["proposed_due_at"],
            "proposed_by": people[step["proposed_by_id"]] if step["proposed_by_id"] else None,
        },
        "overdue": overdue,
        "due_soon": ended_at is None and not overdue and step["warn_at"] <= now,
        "went_overdue": bool(
            step["went_overdue"]
            or step["overdue_at"] is not None
            or (ended_at and ended_at > due_at)
        ),
    }


@dataclass(frozen=True)
class CaseRead:
    """A case as one read found it: its view for the doors and the facts that decide access."""

    view: dict[str, Any]
    access: rules.CaseAccess

    @property
    def id(self) -> int:
        return int(self.view["id"])

    @property
    def reference(self) -> str:
        return str(self.view["reference"])

    @property
    def version(self) -> int:
        return int(self.view["version"])

    def definition(self, workflows: Workflows) -> Definition:
        return workflows.definition(self.view["workflow"]["key"], self.view["workflow"]["version"])


def _sorted(rows: list[dict[str, Any]] | None, key: str) -> list[dict[str, Any]]:
    return sorted(rows or [], key=itemgetter(key))


class _Reader:
    """Shapes the rows of `_ONE_CASE` or `_PAGE_OF_CASES` as the API shows cases."""

    def __init__(self, session: Session, workflows: Workflows, now: datetime) -> None:
        self.connection = session.connection()
        self.workflows = workflows
        self.now = now
        self.people: People = {}

    def find_people(self, ids: Iterable[int | None]) -> None:
        """Read the people not yet known among `ids` (most are parties, known already)."""
        missing = sorted({i for i in ids if i is not None and i not in self.people})
        if missing:
            for row in self.connection.execute(_PEOPLE, {"id": missing}):
                self.people[row.id] = {k: getattr(row, k) for k in PERSON_KEYS}

    def read(self, ids: Any, user: User | None, *, full: bool) -> dict[int, CaseRead]:
        """Return the cases found (of those `user` may see, if given), by id: whole with
        `full` (one id), else their summaries (a list of ids)."""
        actor = actor_of(user) if user is not None else None
        found = {}
        # One case's statement goes to the driver (see `driver`); a page's has a list.
        cases = (
            driver.rows(self.connection, _ONE_CASE, {"id": ids})
            if full
            else self.connection.execute(_PAGE_OF_CASES, {"id": ids})
        )
        for case in cases:
            read = self.head(case)
            if actor is None or rules.can_see(actor, read.access):
                found[case.id] = (case, read)
        steps = {
            i: [self.step(s) for s in _sorted(case.steps, "number")]
            for i, (case, _) in found.items()
        }
        records = {i: _sorted(case.records, "id") for i, (case, _) in found.items()} if full else {}
        acks: dict[int, list[dict[str, Any]]] = {}
        for case, _ in found.values() if full else ():
            for ack in case.acknowledgements or []:
                ack["at"] = _instant(ack["at"])
            for ack in sorted(case.acknowledgements or [], key=itemgetter("at", "n")):
                acks.setdefault(ack["record"], []).append(ack)
        self.find_people(
            [case.raised_by_id for case, _ in found.values()]
            + [
                p
                for shown in steps.values()
                for s in shown
                for p in (s["proposed_by_id"], s["agreed_by_id"], s["agreed_proposer_id"])
            ]
            + [r["author_id"] for shown in records.values() for r in shown]
            + [a["user"] for shown in acks.values() for a in shown]
        )
        out = {}
        for i, (case, read) in found.items():
            view, definition = read.view, read.definition(self.workflows)
            view["raised_by"] = self.people[case.raised_by_id]
            shown = [step_view(s, definition, self.now, self.people) for s in steps[i]]
            if shown and not case.closed and shown[-1]["ended_at"] is None:
                view["step"] = shown[-1]
            if full:
                view["steps"] = shown
                view["records"] = [self.record(r, acks.get(r["id"], [])) for r in records[i]]
            out[i] = read
        return out

    def head(self, case: Any) -> CaseRead:
        """Return a case's summary view (without its people and step) and access."""
        definition = self.workflows.definition(case.workflow_key, case.workflow_version)
        agencies = _sorted(case.agencies, "n")
        parties = _sorted(case.parties, "n")
        for party in parties:
            self.people.setdefault(party["id"], {k: party[k] for k in PERSON_KEYS})
        view: dict[str, Any] = {
            "id": case.id,
            "reference": case.reference,
            "workflow": {
                "key": case.workflow_key,
                "version": case.workflow_version,
                "title": definition.title,
            },
            "state": case.state,
            "closed": case.closed,
            "child_ref": case.child_ref,
            "child_initials": case.child_initials,
            "category": case.category,
            "summary": case.summary,
            "raised_by": None,
            "raised_at": case.raised_at,
            "agencies": [
                {"code": a["code"], "name": a["name"], "raising": bool(a["raising"])}
                for a in agencies
            ],
            "urgent": case.urgent,
            "immediate_risk": {
                "referral_made": bool(case.referral_made),
                "referred_to": case.referred_to,
                "at": case.referral_at,
            },
            "parties": [self.people[p["id"]] for p in parties],
            "step": None,
            "version": case.version,
            "outcome": None,
            "learning": None,
        }
        if case.closed:
            view["outcome"] = {
                "kind": case.outcome_kind,
                "level": case.outcome_level,
                "text": case.outcome_text,
                "at": case.closed_at,
            }
            view["learning"] = {
                "text": case.learning_text,
                "themes": sorted(case.themes.split(",")) if case.themes else [],
            }
        access = rules.CaseAccess(
            raiser_id=case.raised_by_id,
            party_ids=frozenset(p["id"] for p in parties),
            agencies=frozenset(a["code"] for a in agencies),
            state=case.state,
            closed=case.closed,
        )
        return CaseRead(view, access)

    @staticmethod
    def step(step: dict[str, Any]) -> dict[str, Any]:
        for key in _STEP_INSTANTS:
            step[key] = _instant(step[key])
        return step

    def record(self, record: dict[str, Any], acks: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": record["id"],
            "kind": record["kind"],
            "text": record["text"],
            "author": self.people[record["author_id"]],
            "at": _instant(record["at"]),
            "step": record["step_number"],
            "action_due": _instant(record["action_due_at"]),
            "corrects": record["corrects_id"],
            "acknowledged_by": [{**self.people[a["user"]], "at": a["at"]} for a in acks],
        }


def read_case(
    session: Session, workflows: Workflows, user: User, case_id: int, now: datetime
) -> CaseRead:
    """Return a case the user may see, whole, as the API shows it; or refuse as if it did
    not exist."""
    if not user.active:
        raise NotFound(f"no case {case_id}")
    found = _Reader(session, workflows, now).read(case_id, user, full=True)
    if case_id not in found:
        raise NotFound(f"no case {case_id}")
    return found[case_id]


def case_summaries(
    session: Session, workflows: Workflows, case_ids: Sequence[int], now: datetime
) -> list[dict[str, Any]]:
    """Return the summary views of cases the caller has already been shown, in that order."""
    if not case_ids:
        return []
    found = _Reader(session, workflows, now).read(list(case_ids), None, full=False)
    return [found[i].view for i in case_ids]


def available_actions(
    ctx: Context, user: User, definition: Definition, access: rules.CaseAccess
) -> list[dict[str, Any]]:
    """Return the actions this user may take now on a case of this definition."""
    if access.closed:
        return []
    machine = ctx.workflows.machine(definition.key, definition.version)
    actor = actor_of(user)
    out = []
    for key in machine.available(access.state):
        action = definition.action(key)
        if action and rules.may_take(actor, access, definition, action):
            out.append(
                {
                    "key": action.key,
                    "title": action.title,
                    "closes": action.closes,
                    "requires_record": action.requires_record,
                    "requires_outcome": action.requires_outcome,
                }
            )
    return out


def history(session: Session, case: Any) -> list[AuditEvent]:
    """Return the history events of a case (anything with its `reference`), oldest first."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref == case.reference).order_by(AuditEvent.seq)
        )
    )


SHOWS = ("late", "overdue", "due_soon", "all")
OPEN_SORTS = ("due", "reference", "level")


@dataclass(frozen=True)
class OpenFilter:
    """What a manager, lead or the partnership asks of the open cases they can see."""

    show: str = "late"  # overdue and due soon / overdue / due soon / all open
    level: str = ""
    agency: str = ""  # another agency's code
    sort: str = "due"
    descending: bool = False
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class OpenRow:
    """An open case as a list of them shows it: the case, its current step, its agencies."""

    id: int
    reference: str
    workflow_key: str
    workflow_version: int
    state: str
    due_at: datetime
    warn_at: datetime
    timescale_status: str
    agencies: list[tuple[str, str]]  # (code, name), in the order they joined


@dataclass(frozen=True)
class OpenCasesPage:
    rows: list[OpenRow]  # one page
    total: int  # cases matching the filter
    counts: dict[str, int]  # open, overdue, due_soon: before any filter
    levels: list[tuple[int, str, str, int]]  # (number, level, workflow, version) cases are at
    agencies: list[tuple[str, str]]  # (code, name) of the other active agencies


def _level_order(workflows: Workflows) -> Any:
    """Return an SQL expression giving a case's level number in its own definition."""
    whens = [
        (
            (Case.workflow_key == d.key)
            & (Case.workflow_version == d.version)
            & (Case.state == lv),
            d.level_number(lv),
        )
        for d in workflows.registry.all()
        for lv in d.level_index
    ]
    return sql_case(*whens, else_=0) if whens else literal(0)


@dataclass(frozen=True)
class _Counted:
    """The open cases one user's scope sees, counted per level at `at`."""

    head: tuple[int, str]  # the chain's head when counted
    at: datetime
    until: datetime | None  # the first instant a step's clock turns overdue or due soon
    rows: list[tuple[str, int, str, int, int, int]]


# Counts per scope of visibility (and database), in this process. A count stays right
# while no change is made (every change moves the chain's head) and until the next
# instant at which a step's clock crosses its warning or due time.
_COUNTED: dict[tuple[Any, ...], _Counted] = {}


def _open_steps(user: User, now: datetime) -> tuple[Any, Any, Any, Any]:
    """Return the conditions the Overdue page and its counts share: the user's open cases,
    a case's current step, and that step overdue or due soon at `now`."""
    visible = visible_cases(user).where(Case.closed == false()).whereclause
    current = (Step.case_id == Case.id) & Step.ended_at.is_(None)
    return visible, current, Step.due_at < now, (Step.due_at >= now) & (Step.warn_at <= now)


def _level_counts(
    session: Session, user: User, now: datetime
) -> list[tuple[str, int, str, int, int, int]]:
    """Return (workflow key, version, level, open, overdue, due soon) for the open cases
    the user can see: counted once per change and per clock crossing, not per request.

    Counting is one pass over the scope's open cases (~10,000 of them: half the cost of
    the Overdue page); reading the head first means a change committed while counting
    makes the next request count again rather than keep a count older than its key."""
    head = core_head(session)
    key = (str(session.get_bind().url), *_scope(user))
    found = _COUNTED.get(key)
    if (
        found is not None
        and found.head == head
        and found.at <= now
        and (found.until is None or now < found.until)
    ):
        return found.rows
    visible, current, overdue, due_soon = _open_steps(user, now)
    rows = session.execute(
        select(
            Case.workflow_key,
            Case.workflow_version,
            Case.state,
            func.count(),
            func.coalesce(func.sum(sql_case((overdue, 1), else_=0)), 0),
            func.coalesce(func.sum(sql_case((due_soon, 1), else_=0)), 0),
            func.min(sql_case((Step.due_at >= now, Step.due_at))),
            func.min(sql_case((Step.warn_at > now, Step.warn_at))),
        )
        .join(Step, current)
        .where(visible)
        .group_by(Case.workflow_key, Case.workflow_version, Case.state)
    ).all()
    crossings = [t for r in rows for t in (r[6], r[7]) if t is not None]
    counted = [(str(r[0]), int(r[1]), str(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]
    if len(_COUNTED) > 10_000:
        _COUNTED.clear()  # scopes come and go with agencies and users: start again
    _COUNTED[key] = _Counted(head, now, min(crossings, default=None), counted)
    return counted


def open_cases(
    session: Session,
    user: User,
    workflows: Workflows,
    flt: OpenFilter,
    now: datetime,
) -> OpenCasesPage:
    """Return one page of the open cases the user can see, counted and filtered in SQL.

    Its cost follows the number of open cases the user can see, never the number of
    cases, and only one page is loaded as objects.
    """
    if flt.show not in SHOWS:
        raise Invalid.field("show", f"must be one of {', '.join(SHOWS)}")
    if flt.sort not in OPEN_SORTS:
        raise Invalid.field("sort", f"must be one of {', '.join(OPEN_SORTS)}")
    if flt.page < 1:
        raise Invalid.field("page", "must be 1 or more")
    if not 1 <= flt.per_page <= 200:
        raise Invalid.field("per_page", "must be 1 to 200")
    visible, current, overdue, due_soon = _open_steps(user, now)
    per_level = _level_counts(session, user, now)
    counts = {
        "open": sum(int(r[3]) for r in per_level),
        "overdue": sum(int(r[4]) for r in per_level),
        "due_soon": sum(int(r[5]) for r in per_level),
    }
    levels = sorted(
        {
            (workflows.definition(key, version).level_number(state), state, key, version)
            for key, version, state, *_ in per_level
        }
    )
    matching = {"all": 3, "overdue": 4, "due_soon": 5}
    total = sum(
        int(r[4]) + int(r[5]) if flt.show == "late" else int(r[matching[flt.show]])
        for r in per_level
        if not flt.level or r[2] == flt.level
    )
    agencies = [
        (code, name)
        for code, name in session.execute(
            select(Agency.code, Agency.name)
            .where(Agency.id != user.agency_id, Agency.active.is_(True))
            .order_by(Agency.name)
        )
    ]
    # A row shows the case, its current step and its agencies, read as plain values in
    # one statement (as objects, the ORM's loading was half the page's time).
    query = (
        select(
            Case.id,
            Case.reference,
            Case.workflow_key,
            Case.workflow_version,
            Case.state,
            Step.due_at,
            Step.warn_at,
            Step.timescale_status,
            _AGENCIES,
        )
        .join(Step, current)
        .where(visible)
    )
    if flt.show == "late":
        query = query.where(overdue | due_soon)
    elif flt.show == "overdue":
        query = query.where(overdue)
    elif flt.show == "due_soon":
        query = query.where(due_soon)
    if flt.level:
        query = query.where(Case.state == flt.level)
    if flt.agency:
        query = query.where(
            exists()
            .where(CaseAgency.case_id == Case.id, CaseAgency.agency_id == Agency.id)
            .where(Agency.code == flt.agency.upper())
        )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # The level's order is a CASE over every level of every definition: built only
    # when asked for (built every time, it was a tenth of the page).
    keys = (
        [_level_order(workflows), Step.due_at]
        if flt.sort == "level"
        else {"due": [Step.due_at], "reference": [Case.reference]}[flt.sort]
    )
    order = [k.desc() if flt.descending else k.asc() for k in keys] + [Case.id]
    rows = [
        OpenRow(*row[:8], agencies=_agency_names(row.agencies))
        for row in session.execute(
            query.order_by(*order).offset((flt.page - 1) * flt.per_page).limit(flt.per_page)
        )
    ]
    return OpenCasesPage(
        rows=rows,
        total=int(total),
        counts=counts,
        levels=levels,
        agencies=agencies,
    )
