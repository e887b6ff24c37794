"""Reading cases: what a user may see, as plain data for every door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, false, func, literal, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, joinedload, lazyload

from ..domain import rules
from ..domain.definitions import Definition
from ..domain.machines import Workflows
from ..models import Agency, AuditEvent, Case, CaseAgency, CaseParty, Record, Step, User
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
) -> tuple[list[Case], int]:
    """Return one page of the cases the user may see, oldest first, and the total."""
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
    items = list(
        session.scalars(
            query.order_by(Case.id).offset((flt.page - 1) * flt.per_page).limit(flt.per_page)
        )
    )
    return items, int(total)


def _person(user: User) -> dict[str, Any]:
    return {"name": user.name, "email": user.email, "agency": user.agency.code, "role": user.role}


def step_view(step: Step, definition: Definition, now: datetime) -> dict[str, Any]:
    """Return one step as plain data."""
    agreed_by = []
    if step.timescale_status == "agreed" and step.agreed_proposer and step.agreed_by:
        agreed_by = [_person(step.agreed_proposer), _person(step.agreed_by)]
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
            "proposed_by": _person(step.proposed_by) if step.proposed_by else None,
        },
        "overdue": overdue,
        "due_soon": step.ended_at is None and not overdue and step.warn_at <= now,
        "went_overdue": bool(
            step.went_overdue
            or step.overdue_at is not None
            or (step.ended_at and step.ended_at > step.due_at)
        ),
    }


def records_of(session: Session, case: Case) -> list[Record]:
    """Return a case's records, oldest first."""
    return list(
        session.scalars(select(Record).where(Record.case_id == case.id).order_by(Record.id))
    )


def case_view(
    session: Session, workflows: Workflows, case: Case, now: datetime, *, full: bool = True
) -> dict[str, Any]:
    """Return a case as the API contract shapes it."""
    definition = workflows.definition(case.workflow_key, case.workflow_version)
    current = case.current_step
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
        "raised_by": _person(case.raised_by),
        "raised_at": case.raised_at,
        "agencies": [
            {"code": ca.agency.code, "name": ca.agency.name, "raising": ca.raising}
            for ca in case.agencies
        ],
        "urgent": case.urgent,
        "immediate_risk": {
            "referral_made": bool(case.referral_made),
            "referred_to": case.referred_to,
            "at": case.referral_at,
        },
        "parties": [_person(p.user) for p in case.parties],
        "step": step_view(current, definition, now) if current else None,
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
        view["learning"] = {"text": case.learning_text, "themes": [t.theme for t in case.themes]}
    if full:
        view["steps"] = [step_view(s, definition, now) for s in case.steps]
        view["records"] = [
            {
                "id": r.id,
                "kind": r.kind,
                "text": r.text,
                "author": _person(r.author),
                "at": r.at,
                "step": r.step_number,
                "action_due": r.action_due_at,
                "corrects": r.corrects_id,
                "acknowledged_by": [{**_person(a.user), "at": a.at} for a in r.acknowledgements],
            }
            for r in records_of(session, case)
        ]
    return view


def available_actions(ctx: Context, user: User, case: Case) -> list[dict[str, Any]]:
    """Return the actions this user may take on the case now."""
    if case.closed:
        return []
    definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
    machine = ctx.workflows.machine(case.workflow_key, case.workflow_version)
    actor, access = actor_of(user), access_of(case)
    out = []
    for key in machine.available(case.state):
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
