"""Reading cases: what a user may see, as plain data for every door."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
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
)
from sqlalchemy import case as sql_case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, joinedload, lazyload
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
from .cases import access_of, actor_of
from .core import Context
from .errors import Invalid, NotFound


def visible_cases(user: User) -> Select[tuple[Case]]:
    """Return a query of the cases this user may see: every listing starts here."""
    query = select(Case)
    if user.role in ("auditor", "partnership"):
        return query
    if user.role in ("manager", "lead"):
        # Their agency's cases. A manager or lead who is a party is always of an involved
        # agency (raise_case names people of the named agencies only, and only those whose
        # agency is involved act), so no second test: with one, PostgreSQL hashes every
        # case of the agency before it can answer a page of them.
        return query.where(
            exists().where(CaseAgency.case_id == Case.id, CaseAgency.agency_id == user.agency_id)
        )
    if user.role == "practitioner":
        return query.where(
            exists().where(CaseParty.case_id == Case.id, CaseParty.user_id == user.id)
        )
    return query.where(Case.id < 0)  # admins manage accounts, not cases


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
    mine = exists().where(CaseParty.case_id == Case.id, CaseParty.user_id == user.id)
    at_my_level = [
        (Case.workflow_key == d.key) & (Case.workflow_version == d.version) & (Case.state == lv.key)
        for d in workflows.registry.all()
        for lv in d.levels
        if user.role in lv.acts
    ]
    query = visible_cases(user)
    return query.where(or_(mine, *at_my_level)) if user.role != "practitioner" else query


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
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    ids = list(
        session.scalars(
            query.with_only_columns(Case.id)
            .order_by(Case.id)
            .offset((flt.page - 1) * flt.per_page)
            .limit(flt.per_page)
        )
    )
    return ids, int(total)


# Reading a case for its view: a handful of plain statements on the case's id, made into
# the view's dicts directly. The ORM's one joined query for a case and its collections
# cost more to plan on PostgreSQL (ten tables) and to turn into objects than the rest of
# a read together; these statements are each planned in a fraction of that, and a case
# needs three of them (four with acknowledgements). They come in two
# sets: for one case (`= :id`) and for a page of cases (`IN (:id, ...)`, whose text
# SQLAlchemy renders afresh at each execution).
_CASE_T, _CA, _AG = Case.__table__, CaseAgency.__table__, Agency.__table__
_CP, _ST, _REC = CaseParty.__table__, Step.__table__, Record.__table__
_ACK, _THEME, _USER = Acknowledgement.__table__, CaseTheme.__table__, User.__table__
_PERSON = (_USER.c.id, _USER.c.name, _USER.c.email, _AG.c.code, _USER.c.role)
_PEOPLE = (
    select(*_PERSON)
    .join_from(_USER, _AG, _USER.c.agency_id == _AG.c.id)
    .where(_USER.c.id.in_(bindparam("id", expanding=True)))
)


class json_rows(FunctionElement[Any]):  # noqa: N801 (an SQL function, named as one)
    """A JSON array of one object per row, from alternating keys and columns:
    `json_rows("code", Agency.code, ...)`. PostgreSQL: json_agg(json_build_object(...)),
    NULL without rows; SQLite: json_group_array(json_object(...)), [] without rows.
    The order of the objects is not defined: give them a key to sort by."""

    type = JSON()
    inherit_cache = True
    name = "json_rows"

    def __init__(self, *pairs: Any) -> None:
        keys, columns = pairs[::2], pairs[1::2]
        # The keys are this module's constants, written into the SQL as literals.
        super().__init__(
            *(x for k, c in zip(keys, columns, strict=True) for x in (literal_column(f"'{k}'"), c))
        )


@compiles(json_rows)
def _json_rows(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_object({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_agg(json_build_object({compiler.process(element.clauses, **kw)}))"


# A case's agencies, parties and learning themes as columns of its one row.
_AGENCIES = (
    select(
        json_rows("n", _CA.c.id, "code", _AG.c.code, "name", _AG.c.name, "raising", _CA.c.raising)
    )
    .join_from(_CA, _AG, _CA.c.agency_id == _AG.c.id)
    .where(_CA.c.case_id == _CASE_T.c.id)
    .scalar_subquery()
    .label("agencies")
)
_PARTIES = (
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
    .join(_AG, _USER.c.agency_id == _AG.c.id)
    .where(_CP.c.case_id == _CASE_T.c.id)
    .scalar_subquery()
    .label("parties")
)
# Theme keys are words without commas.
_THEMES = (
    select(func.aggregate_strings(_THEME.c.theme, ","))
    .where(_THEME.c.case_id == _CASE_T.c.id)
    .scalar_subquery()
    .label("themes")
)


@dataclass(frozen=True)
class _Reads:
    """The statements that read cases, each taking the case id(s) as `id`."""

    cases: Select[Any]  # a row per case, with its agencies, parties and themes
    steps: Select[Any]
    current_steps: Select[Any]  # an open case has exactly one open step; a closed one none
    records: Select[Any]
    acknowledgements: Select[Any]


def _reads(match: Callable[[Any], Any]) -> _Reads:
    return _Reads(
        cases=select(_CASE_T, _AGENCIES, _PARTIES, _THEMES).where(match(_CASE_T.c.id)),
        steps=select(_ST).where(match(_ST.c.case_id)).order_by(_ST.c.case_id, _ST.c.number),
        current_steps=select(_ST).where(match(_ST.c.case_id), _ST.c.ended_at.is_(None)),
        records=select(_REC).where(match(_REC.c.case_id)).order_by(_REC.c.id),
        acknowledgements=select(_ACK.c.record_id, _ACK.c.user_id, _ACK.c.at)
        .join_from(_ACK, _REC, _ACK.c.record_id == _REC.c.id)
        .where(match(_REC.c.case_id))
        .order_by(_ACK.c.at, _ACK.c.id),
    )


_ONE = _reads(lambda column: column == bindparam("id"))
_MANY = _reads(lambda column: column.in_(bindparam("id", expanding=True)))

People = dict[int, dict[str, Any]]  # user id -> the person as the API shows them


PERSON_KEYS = ("name", "email", "agency", "role")


def _person(row: Any) -> dict[str, Any]:
    return {"name": row.name, "email": row.email, "agency": row.code, "role": row.role}


def step_view(step: Any, definition: Definition, now: datetime, people: People) -> dict[str, Any]:
    """Return one step (a `step` row or a `Step`) as plain data, its people from `people`."""
    agreed_by = []
    if step.timescale_status == "agreed" and step.agreed_proposer_id and step.agreed_by_id:
        agreed_by = [people[step.agreed_proposer_id], people[step.agreed_by_id]]
    level = definition.level(step.level)
    overdue = step.ended_at is None and step.due_at < now
    return {
        "number": step.number,
        "stage": step.level,
        "title": level.title,
        "started_at": step.started_at,
        "due_at": step.due_at,
        "warn_at": step.warn_at,
        "ended_at": step.ended_at,
        "timescale": {
            "status": step.timescale_status,
            "default": str(level.timescale),
            "agreed_by": agreed_by,
            "reason": step.agreed_reason
            if step.timescale_status == "agreed"
            else step.proposed_reason,
            "proposed_due_at": step.proposed_due_at,
            "proposed_by": people[step.proposed_by_id] if step.proposed_by_id else None,
        },
        "overdue": overdue,
        "due_soon": step.ended_at is None and not overdue and step.warn_at <= now,
        "went_overdue": bool(
            step.went_overdue
            or step.overdue_at is not None
            or (step.ended_at and step.ended_at > step.due_at)
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


class _Reader:
    """Reads cases by id with the statements above and shapes them as the API does."""

    def __init__(
        self, session: Session, workflows: Workflows, now: datetime, ids: Sequence[int]
    ) -> None:
        self.connection = session.connection()
        self.workflows = workflows
        self.now = now
        self.people: People = {}
        one = len(ids) == 1
        self.reads, self.ids = (_ONE, ids[0]) if one else (_MANY, list(ids))

    def rows(self, statement: Select[Any], ids: Any = None) -> list[Any]:
        return list(self.connection.execute(statement, {"id": self.ids if ids is None else ids}))

    def find_people(self, ids: Iterable[int | None]) -> None:
        """Read the people not yet known among `ids`."""
        missing = {i for i in ids if i is not None and i not in self.people}
        if missing:
            self.people.update((r.id, _person(r)) for r in self.rows(_PEOPLE, sorted(missing)))

    def heads(self) -> dict[int, CaseRead]:
        """Return each found case's summary view (without its current step) and access."""
        cases = self.rows(self.reads.cases)
        agencies: dict[int, list[dict[str, Any]]] = {}
        parties: dict[int, list[int]] = {}
        for case in cases:
            agencies[case.id] = sorted(case.agencies or [], key=itemgetter("n"))
            parties[case.id] = []
            for party in sorted(case.parties or [], key=itemgetter("n")):
                parties[case.id].append(party["id"])
                self.people.setdefault(party["id"], {k: party[k] for k in PERSON_KEYS})
        self.find_people(c.raised_by_id for c in cases)
        found = {}
        for case in cases:
            definition = self.workflows.definition(case.workflow_key, case.workflow_version)
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
                "raised_by": self.people[case.raised_by_id],
                "raised_at": case.raised_at,
                "agencies": [
                    {"code": a["code"], "name": a["name"], "raising": bool(a["raising"])}
                    for a in agencies[case.id]
                ],
                "urgent": case.urgent,
                "immediate_risk": {
                    "referral_made": bool(case.referral_made),
                    "referred_to": case.referred_to,
                    "at": case.referral_at,
                },
                "parties": [self.people[i] for i in parties[case.id]],
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
                party_ids=frozenset(parties[case.id]),
                agencies=frozenset(a["code"] for a in agencies[case.id]),
                state=case.state,
                closed=case.closed,
            )
            found[case.id] = CaseRead(view, access)
        return found

    def add_steps(self, found: dict[int, CaseRead], *, full: bool) -> None:
        """Add each case's current step, and with `full` all its steps."""
        steps = self.rows(self.reads.steps if full else self.reads.current_steps)
        self.find_people(
            i for s in steps for i in (s.proposed_by_id, s.agreed_by_id, s.agreed_proposer_id)
        )
        for read in found.values():
            if full:
                read.view["steps"] = []
        for step in steps:
            view = found[step.case_id].view
            definition = self.workflows.definition(
                view["workflow"]["key"], view["workflow"]["version"]
            )
            shown = step_view(step, definition, self.now, self.people)
            if full:
                view["steps"].append(shown)
            if step.ended_at is None and not view["closed"]:
                view["step"] = shown

    def add_records(self, read: CaseRead) -> None:
        """Add the case's records, oldest first, each with who has acknowledged it."""
        records = self.rows(self.reads.records)
        acks: dict[int, list[Any]] = {r.id: [] for r in records}
        if records:
            for row in self.rows(self.reads.acknowledgements):
                acks[row.record_id].append(row)
        self.find_people(
            [r.author_id for r in records] + [a.user_id for rows in acks.values() for a in rows]
        )
        read.view["records"] = [
            {
                "id": r.id,
                "kind": r.kind,
                "text": r.text,
                "author": self.people[r.author_id],
                "at": r.at,
                "step": r.step_number,
                "action_due": r.action_due_at,
                "corrects": r.corrects_id,
                "acknowledged_by": [{**self.people[a.user_id], "at": a.at} for a in acks[r.id]],
            }
            for r in records
        ]


def read_case(
    session: Session, workflows: Workflows, user: User, case_id: int, now: datetime
) -> CaseRead:
    """Return a case the user may see, whole, as the API shows it; or refuse as if it did
    not exist. Of a case the user may not see, no step, record or theme is read."""
    reader = _Reader(session, workflows, now, [case_id])
    read = reader.heads().get(case_id)
    if read is None or not user.active or not rules.can_see(actor_of(user), read.access):
        raise NotFound(f"no case {case_id}")
    reader.add_steps({case_id: read}, full=True)
    reader.add_records(read)
    return read


def case_summaries(
    session: Session, workflows: Workflows, case_ids: Sequence[int], now: datetime
) -> list[dict[str, Any]]:
    """Return the summary views of cases the caller has already been shown, in that order."""
    if not case_ids:
        return []
    reader = _Reader(session, workflows, now, case_ids)
    found = reader.heads()
    reader.add_steps(found, full=False)
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


def history(session: Session, case: Case) -> list[AuditEvent]:
    """Return a case's history events, oldest first."""
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
class OpenCasesPage:
    rows: list[tuple[Case, Step]]  # one page, each case with its current step
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
    visible = visible_cases(user).where(Case.closed == false()).whereclause
    current = (Step.case_id == Case.id) & Step.ended_at.is_(None)
    overdue = Step.due_at < now
    due_soon = (Step.due_at >= now) & (Step.warn_at <= now)
    # One pass over the open cases gives the counts, the levels they are at, and the
    # number matching any filter but the agency one.
    per_level = session.execute(
        select(
            Case.workflow_key,
            Case.workflow_version,
            Case.state,
            func.count(),
            func.coalesce(func.sum(sql_case((overdue, 1), else_=0)), 0),
            func.coalesce(func.sum(sql_case((due_soon, 1), else_=0)), 0),
        )
        .join(Step, current)
        .where(visible)
        .group_by(Case.workflow_key, Case.workflow_version, Case.state)
    ).all()
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
    # A row shows the case, its current step and its agencies: parties and past steps
    # are read only if something asks for them.
    query = (
        select(Case, Step)
        .join(Step, current)
        .where(visible)
        .options(lazyload(Case.parties), lazyload(Case.steps))
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
    keys = {
        "due": [Step.due_at],
        "reference": [Case.reference],
        "level": [_level_order(workflows), Step.due_at],
    }[flt.sort]
    order = [k.desc() if flt.descending else k.asc() for k in keys] + [Case.id]
    rows = [
        (c, s)
        for c, s in session.execute(
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
