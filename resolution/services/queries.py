"""Reading cases: what a user may see, for every door."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from ..domain import rules
from ..domain.machines import Workflows
from ..models import Agency, AuditEvent, Case, CaseAgency, CaseParty, Step, User
from . import access, directory
from .clocks import due_soon_clause, open_clocks, overdue_clause
from .core import Context
from .errors import Invalid
from .loading import load_cases, visible_case
from .views import CaseView, case_view


def visible_cases(user: User) -> Select[tuple[Case]]:
    """Return a query of the cases this user may see, built from the role's grants
    (`rules.SCOPES`, which `rules.can_see` reads too): every listing starts here."""
    grants = rules.scope(user.role)
    query = select(Case)
    if rules.ALL in grants:
        return query
    # One correlated EXISTS over the grants' rows: each case is looked up in the unique
    # (case, agency) and (case, user) indexes, so a page walks its own index and stops;
    # an IN of the grants' ids would first hash every case of the agency.
    granted: list[Select[Any]] = []
    if rules.AGENCY in grants:
        granted.append(
            select(CaseAgency.id).where(
                CaseAgency.case_id == Case.id, CaseAgency.agency_id == user.agency_id
            )
        )
    if rules.PARTY in grants:
        granted.append(
            select(CaseParty.id).where(CaseParty.case_id == Case.id, CaseParty.user_id == user.id)
        )
    if not granted:
        return query.where(false())
    either = granted[0] if len(granted) == 1 else union_all(*granted)
    return query.where(either.exists())


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
    mine = select(CaseParty.case_id).where(CaseParty.user_id == user.id)
    if at_my_level:
        levels = select(Case.id).where(Case.closed == false(), or_(*at_my_level))
        return query.where(Case.id.in_(union(mine, levels)))
    return query.where(Case.id.in_(mine))


def agencies_of(session: Session, case_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """Return each case's agencies as (code, name), in the order they joined."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if case_ids:
        for case_id, code, name in session.execute(
            select(CaseAgency.case_id, Agency.code, Agency.name)
            .join(Agency, Agency.id == CaseAgency.agency_id)
            .where(CaseAgency.case_id.in_(case_ids))
            .order_by(CaseAgency.id)
        ):
            found[case_id].append((code, name))
    return found


@dataclass(frozen=True)
class ClosedRow:
    """A closed case as a list shows it."""

    id: int
    reference: str
    child_ref: str
    outcome_kind: str | None
    agencies: list[tuple[str, str]]  # (code, name), in the order they joined


def recently_closed(session: Session, ctx: Context, user: User, limit: int) -> list[ClosedRow]:
    """Return the cases the user may see that closed most recently, newest first."""
    rows = session.execute(
        visible_cases(user)
        .with_only_columns(Case.id, Case.reference, Case.child_ref, Case.outcome_kind)
        .where(Case.closed.is_(True), Case.closed_at.is_not(None))
        .order_by(Case.closed_at.desc(), Case.id.desc())
        .limit(limit)
    ).all()
    agencies = agencies_of(session, [r.id for r in rows])
    return [
        ClosedRow(r.id, r.reference, r.child_ref, r.outcome_kind, agencies=agencies[r.id])
        for r in rows
    ]


@dataclass(frozen=True)
class CaseFilter:
    state: str | None = None  # open / closed
    overdue: bool | None = None
    agency: str | None = None
    stage: str | None = None
    page: int = 1
    per_page: int = 20
    q: str | None = None  # the service's or the agencies' reference, whole or its beginning


MAX_SEARCH = 40  # the longest reference either kind can be


def search_clause(text: str) -> ColumnElement[bool]:
    """Return the condition of a search: a case whose reference (RC-000123) or child
    reference begins with `text`, in any letter case; or refuse text no reference has."""
    wanted = text.strip().upper()
    if len(wanted) > MAX_SEARCH:
        raise Invalid.field("q", f"must be at most {MAX_SEARCH} characters")
    if not rules.printable(wanted):
        raise Invalid.field("q", rules.NOT_PRINTABLE)
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"{escaped}%"
    return or_(
        Case.reference.like(pattern, escape="\\"),
        func.upper(Case.child_ref).like(pattern, escape="\\"),
    )


def list_cases(
    session: Session, ctx: Context, user: User, flt: CaseFilter
) -> tuple[list[int], int]:
    """Return the ids of one page of the cases the user may see, oldest first, and the total."""
    if flt.state not in (None, "open", "closed"):
        raise Invalid.field("state", "must be open or closed")
    if not 1 <= flt.per_page <= 100:
        raise Invalid.field("per_page", "must be 1 to 100")
    if flt.page < 1:
        raise Invalid.field("page", "must be 1 or more")
    late = None
    if flt.overdue:
        # The overdue ones among the user's open cases, read first from their clocks' index.
        clock = open_clocks(user)
        late = (
            select(clock.c.case_id)
            .where(overdue_clause(clock.c.due_at, ctx.now))
            .cte("late")
            .prefix_with("MATERIALIZED")
        )
        query = select(Case).join(late, late.c.case_id == Case.id)
    else:
        query = visible_cases(user)
    if flt.overdue is False:
        late_step = Step.ended_at.is_(None) & overdue_clause(Step.due_at, ctx.now)
        query = query.where(~exists().where(Step.case_id == Case.id, late_step))
    if flt.state == "open":
        query = query.where(Case.closed == false())
    elif flt.state == "closed":
        query = query.where(Case.closed.is_(True))
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
    searched = bool(flt.q and flt.q.strip())
    if flt.q is not None:
        clause = search_clause(flt.q)  # checked even when blank
        if searched:
            query = query.where(clause)
    if late is not None and not (flt.state or flt.agency or flt.stage or searched):
        ids_of = select(late.c.case_id).order_by(late.c.case_id)  # nothing more to ask of a case
    else:
        ids_of = query.with_only_columns(Case.id).order_by(Case.id)
    total = session.scalar(select(func.count()).select_from(ids_of.order_by(None).subquery()))
    page = ids_of.offset((flt.page - 1) * flt.per_page).limit(flt.per_page)
    ids = list(session.scalars(page))
    return ids, int(total or 0)


def read_case(
    session: Session,
    ctx: Context,
    user: User,
    case_id: int,
    *,
    door: str | None = None,
    with_history: bool = False,
) -> CaseView:
    """Return a case the user may see, whole, with the actions they may take (and its history
    events, `with_history`); or refuse as if it did not exist. A read through a `door` is
    written to the access log."""
    case = visible_case(session, user, case_id)
    view = case_view(case, ctx.workflows, ctx.now, user=user, whole=True)
    if with_history:
        events = history(session, ctx, case)
        names = directory.names_in_history(session, ctx, events)
        view = replace(view, events=events, names=names)
    if door is not None:
        access.record_access(session, ctx, user, access.CASE_VIEWED, case.reference, door)
    return view


def case_history(
    session: Session, ctx: Context, user: User, case_id: int, *, door: str
) -> list[AuditEvent]:
    """Return the history events of a case the user may see, oldest first; the read is
    written to the access log."""
    case = visible_case(session, user, case_id)
    access.record_access(session, ctx, user, access.HISTORY_VIEWED, case.reference, door)
    return history(session, ctx, case)


@dataclass(frozen=True)
class CasePage:
    """One page of the cases a user may see, as summaries, and how many there are."""

    items: list[CaseView]
    total: int


def cases_page(
    session: Session, ctx: Context, user: User, flt: CaseFilter, *, door: str
) -> CasePage:
    """Return one page of the cases the user may see, oldest first, as summaries; the read
    is written to the access log (one row, with the filters used)."""
    ids, total = list_cases(session, ctx, user, flt)
    target = access.target_of("cases", asdict(flt))
    access.record_access(session, ctx, user, access.CASES_LISTED, target, door)
    return CasePage(case_summaries(session, ctx, ids), total)


def case_summaries(session: Session, ctx: Context, case_ids: Sequence[int]) -> list[CaseView]:
    """Return the summaries of cases the caller has already been shown, in that order."""
    return [
        case_view(c, ctx.workflows, ctx.now, whole=False) for c in load_cases(session, case_ids)
    ]


def history(session: Session, ctx: Context, case: Any) -> list[AuditEvent]:
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
    urgent: bool = False  # the case's immediate-risk flag (status.is_urgent reads it)


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


def _level_counts(
    session: Session, clock: Subquery, now: datetime
) -> list[tuple[str, int, int, int]]:
    """Return (level, open, overdue, due soon) of the open cases of `clock`."""
    overdue = overdue_clause(clock.c.due_at, now)
    due_soon = due_soon_clause(clock.c.due_at, clock.c.warn_at, now)
    rows = session.execute(
        select(
            clock.c.level,
            func.count(),
            func.coalesce(func.sum(sql_case((overdue, 1), else_=0)), 0),
            func.coalesce(func.sum(sql_case((due_soon, 1), else_=0)), 0),
        ).group_by(clock.c.level)
    ).all()
    return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


def _levels(workflows: Workflows, keys: Iterable[str]) -> list[tuple[int, str, str, int]]:
    """Return (number, level, workflow, version) for level keys, from a definition that has
    each (the newest)."""
    found = {}
    for d in sorted(workflows.registry.all(), key=lambda d: (d.key, -d.version)):
        for key in keys:
            if key in d.level_index and key not in found:
                found[key] = (d.level_number(key), key, d.key, d.version)
    return sorted(found.values())


def open_cases(
    session: Session, ctx: Context, user: User, flt: OpenFilter, *, door: str | None = None
) -> OpenCasesPage:
    """Return one page of the open cases the user can see, counted and filtered in SQL; a
    read through a `door` is written to the access log (one row, with the filters used).

    Counts and the page come from the open cases' clocks (`open_clocks`), so their cost
    follows the number of open cases the user can see, never the number of cases; only
    the page's cases are read.
    """
    if flt.show not in SHOWS:
        raise Invalid.field("show", f"must be one of {', '.join(SHOWS)}")
    if flt.sort not in OPEN_SORTS:
        raise Invalid.field("sort", f"must be one of {', '.join(OPEN_SORTS)}")
    if flt.page < 1:
        raise Invalid.field("page", "must be 1 or more")
    if not 1 <= flt.per_page <= 200:
        raise Invalid.field("per_page", "must be 1 to 200")
    workflows, now = ctx.workflows, ctx.now
    clock = open_clocks(user)
    per_level = _level_counts(session, clock, now)
    counts = {
        "open": sum(r[1] for r in per_level),
        "overdue": sum(r[2] for r in per_level),
        "due_soon": sum(r[3] for r in per_level),
    }
    total = sum(
        {"all": open_, "late": late + soon, "overdue": late, "due_soon": soon}[flt.show]
        for level, open_, late, soon in per_level
        if not flt.level or level == flt.level
    )
    agencies = [
        (code, name)
        for code, name in session.execute(
            select(Agency.code, Agency.name)
            .where(Agency.id != user.agency_id, Agency.active.is_(True))
            .order_by(Agency.name)
        )
    ]
    overdue = overdue_clause(clock.c.due_at, now)
    due_soon = due_soon_clause(clock.c.due_at, clock.c.warn_at, now)
    # A row shows the case, its current step's clock and (read for the page) its agencies.
    query = (
        select(
            Case.id,
            Case.reference,
            Case.workflow_key,
            Case.workflow_version,
            Case.state,
            Case.urgent,
            clock.c.due_at,
            clock.c.warn_at,
            Step.timescale_status,
        )
        .join_from(clock, Case, Case.id == clock.c.case_id)
        .join(Step, (Step.case_id == Case.id) & Step.ended_at.is_(None))
    )
    if flt.show == "late":
        query = query.where(overdue | due_soon)
    elif flt.show == "overdue":
        query = query.where(overdue)
    elif flt.show == "due_soon":
        query = query.where(due_soon)
    if flt.level:
        query = query.where(clock.c.level == flt.level)
    if flt.agency:
        query = query.where(
            exists()
            .where(CaseAgency.case_id == Case.id, CaseAgency.agency_id == Agency.id)
            .where(Agency.code == flt.agency.upper())
        )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    keys: list[Any] = [clock.c.due_at]
    if flt.sort == "level":
        keys = [_level_order(workflows), clock.c.due_at]
    elif flt.sort == "reference":
        keys = [Case.reference]
    order = [k.desc() if flt.descending else k.asc() for k in keys] + [Case.id]
    found = session.execute(
        query.order_by(*order).offset((flt.page - 1) * flt.per_page).limit(flt.per_page)
    ).all()
    agencies_by_case = agencies_of(session, [r.id for r in found])
    rows = [
        OpenRow(
            id=r.id,
            reference=r.reference,
            workflow_key=r.workflow_key,
            workflow_version=r.workflow_version,
            state=r.state,
            due_at=r.due_at,
            warn_at=r.warn_at,
            timescale_status=r.timescale_status,
            agencies=agencies_by_case[r.id],
            urgent=bool(r.urgent),
        )
        for r in found
    ]
    if door is not None:
        target = access.target_of("overdue", asdict(flt))
        access.record_access(session, ctx, user, access.OVERDUE_VIEWED, target, door)
    return OpenCasesPage(
        rows=rows,
        total=int(total),
        counts=counts,
        levels=_levels(workflows, [r[0] for r in per_level]),
        agencies=agencies,
    )
