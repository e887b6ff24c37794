"""The sweep: flag what has passed its deadline, warn of what is due soon, tell people.

Each kind of flag is set by one conditional `UPDATE ... RETURNING` on a partial
index that holds only the open, unflagged rows, so a sweep costs in proportion
to what it flags, not to the number of cases. A row that is already flagged no
longer matches, so running the sweep twice, from two processes at once, or
again after a crash flags each item once: the unit of work's lock on the audit
head serialises the sweeps, and the `WHERE ... IS NULL` makes the second one
find nothing. The flags, their history events and their e-mails are written in
the same transaction, a chunk of items at a time, so memory stays flat however
much is overdue.

Warnings for agreed actions are worked out at sweep time (no column stores
them): the sweep reads the open actions whose deadline falls within the
longest lead time any definition allows, and warns those whose warning time,
from `calendar.warning_time`, has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, select, update
from sqlalchemy.orm import Session

from ..columns import table_of
from ..domain.calendar import HOURS, WORKING_DAYS, warning_time
from ..domain.definitions import Definition
from ..models import Case, CaseAgency, CaseParty, Record, Step, User
from . import notify
from .clocks import due_soon_clause, open_action_clause, overdue_clause
from .core import Context, Message, UnitOfWork, unit_of_work
from .notify import Audience, Person, Recipients

ACTOR = "scheduler"
CHUNK = 2000
# An agreed action may be set at most this far ahead (cases.MAX_AHEAD): it bounds a
# warning given as a share of the time allowed.
_LONGEST_ACTION = timedelta(days=366)

_STEP, _RECORD, _CASE = table_of(Step), table_of(Record), table_of(Case)
_PARTY, _AGENCY, _USER = table_of(CaseParty), table_of(CaseAgency), table_of(User)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep flagged; `flagged` counts every flag it set."""

    flagged_overdue: int = 0
    warned_due_soon: int = 0
    actions_overdue: int = 0
    actions_due_soon: int = 0
    messages: int = 0
    chunks: int = 0

    @property
    def flagged(self) -> int:
        """Return the number of flags set: overdue steps and actions, and warnings."""
        return (
            self.flagged_overdue
            + self.warned_due_soon
            + self.actions_overdue
            + self.actions_due_soon
        )


@dataclass(frozen=True)
class _Flag:
    """One item flagged: which case, what to record and what to say."""

    case_id: int
    action: str  # the history event: step_overdue, step_due_soon, action_overdue, action_due_soon
    event: str  # the definition's notification rule: overdue or due_soon
    payload: dict[str, object]
    due_at: datetime
    step_level: str | None = None


def sweep(session: Session, ctx: Context, *, chunk: int = CHUNK) -> SweepResult:
    """Flag overdue steps and actions and warn of due-soon ones, as of `ctx.now`."""
    totals = {"step_overdue": 0, "step_due_soon": 0, "action_overdue": 0, "action_due_soon": 0}
    messages = chunks = 0
    # Overdue first, so an item whose warning and deadline both passed while no
    # sweep ran is flagged overdue only.
    for kind in ("step_overdue", "action_overdue", "step_due_soon", "action_due_soon"):
        while True:
            with unit_of_work(session, ctx.now, late=True) as uow:
                flags = _FLAGGERS[kind](uow.session, ctx, chunk)
                if flags:
                    messages += _record_and_queue(ctx, uow, flags)
            chunks += 1
            totals[kind] += len(flags)
            # Stop at an empty chunk, not a short one: on PostgreSQL a writer may end an
            # item between its choice and its flag, and the items after it still wait. An
            # item a writer holds is passed over (SKIP LOCKED) and left to the next sweep.
            if not flags:
                break
    if messages or any(totals.values()):
        # The flags were set by Core statements: drop any stale copies this session holds.
        session.expire_all()
    return SweepResult(
        flagged_overdue=totals["step_overdue"],
        warned_due_soon=totals["step_due_soon"],
        actions_overdue=totals["action_overdue"],
        actions_due_soon=totals["action_due_soon"],
        messages=messages,
        chunks=chunks,
    )


def _flag_steps(
    session: Session,
    ctx: Context,
    chunk: int,
    *,
    kind: str,
    unflagged: ColumnElement[bool],
    ready: ColumnElement[bool],
    order: Any,
    flags: dict[str, Any],
) -> list[_Flag]:
    """Flag up to `chunk` open, `unflagged` steps that are `ready`, in `order`; return them."""
    chosen = (
        select(_STEP.c.id)
        .where(unflagged, ready)
        .order_by(order)
        .limit(chunk)
        .with_for_update(skip_locked=True)  # PostgreSQL: pass over rows a writer holds
    )
    rows = session.execute(
        update(_STEP)
        .where(_STEP.c.id.in_(chosen.scalar_subquery()), unflagged)
        .values(flags)
        .returning(_STEP.c.case_id, _STEP.c.number, _STEP.c.level, _STEP.c.due_at)
    ).all()
    event = kind.removeprefix("step_")
    return [
        _Flag(
            r.case_id,
            kind,
            event,
            {"step": r.number, "level": r.level, "due_at": r.due_at.isoformat()},
            r.due_at,
            r.level,
        )
        for r in rows
    ]


def _flag_steps_overdue(session: Session, ctx: Context, chunk: int) -> list[_Flag]:
    return _flag_steps(
        session,
        ctx,
        chunk,
        kind="step_overdue",
        unflagged=and_(_STEP.c.ended_at.is_(None), _STEP.c.overdue_at.is_(None)),
        ready=overdue_clause(_STEP.c.due_at, ctx.now),
        order=_STEP.c.due_at,
        flags={"overdue_at": ctx.now, "went_overdue": True},
    )


def _flag_steps_due_soon(session: Session, ctx: Context, chunk: int) -> list[_Flag]:
    return _flag_steps(
        session,
        ctx,
        chunk,
        kind="step_due_soon",
        unflagged=and_(
            _STEP.c.ended_at.is_(None), _STEP.c.due_soon_at.is_(None), _STEP.c.overdue_at.is_(None)
        ),
        ready=due_soon_clause(_STEP.c.due_at, _STEP.c.warn_at, ctx.now),
        order=_STEP.c.warn_at,
        flags={"due_soon_at": ctx.now},
    )


def _open_actions(*, joined: bool = False) -> ColumnElement[bool]:
    """Return the condition the action queries share: open (neither done nor withdrawn),
    unflagged, on an open case."""
    unflagged = and_(
        _RECORD.c.kind == "action",
        _RECORD.c.action_due_at.is_not(None),
        open_action_clause(_RECORD.c.action_done_at, _RECORD.c.action_withdrawn_at),
        _RECORD.c.overdue_at.is_(None),
    )
    if joined:  # the query already joins the case
        return and_(unflagged, _CASE.c.closed.is_(False))
    on_open_case = (
        select(_CASE.c.id)
        .where(_CASE.c.id == _RECORD.c.case_id, _CASE.c.closed.is_(False))
        .exists()
    )
    return and_(unflagged, on_open_case)


def _flag_actions_overdue(session: Session, ctx: Context, chunk: int) -> list[_Flag]:
    is_open = _open_actions()
    due = (
        select(_RECORD.c.id)
        .where(is_open, overdue_clause(_RECORD.c.action_due_at, ctx.now))
        .order_by(_RECORD.c.action_due_at)
        .limit(chunk)
        .with_for_update(skip_locked=True)  # PostgreSQL: pass over rows a writer holds
    )
    rows = session.execute(
        update(_RECORD)
        .where(_RECORD.c.id.in_(due.scalar_subquery()), is_open)
        .values(overdue_at=ctx.now)
        .returning(_RECORD.c.id, _RECORD.c.case_id, _RECORD.c.action_due_at)
    ).all()
    return [_action_flag(r, "action_overdue", "overdue") for r in rows]


def _flag_actions_due_soon(session: Session, ctx: Context, chunk: int) -> list[_Flag]:
    horizon = ctx.now + _longest_lead(ctx.workflows.registry.all())
    candidates = session.execute(
        select(
            _RECORD.c.id,
            _RECORD.c.at,
            _RECORD.c.action_due_at,
            _CASE.c.workflow_key,
            _CASE.c.workflow_version,
        )
        .join(_CASE, _CASE.c.id == _RECORD.c.case_id)
        .where(
            _open_actions(joined=True),
            _RECORD.c.due_soon_at.is_(None),
            ~overdue_clause(_RECORD.c.action_due_at, ctx.now),
            _RECORD.c.action_due_at <= horizon,
        )
        .order_by(_RECORD.c.action_due_at)
    )
    ready: list[int] = []
    for row in candidates:
        definition = ctx.workflows.definition(row.workflow_key, row.workflow_version)
        if (
            warning_time(row.at, row.action_due_at, definition.warn_before, definition.calendar)
            <= ctx.now
        ):
            ready.append(row.id)
            if len(ready) == chunk:
                break
    if not ready:
        return []
    rows = session.execute(
        update(_RECORD)
        .where(_RECORD.c.id.in_(ready), _RECORD.c.due_soon_at.is_(None), _open_actions())
        .values(due_soon_at=ctx.now)
        .returning(_RECORD.c.id, _RECORD.c.case_id, _RECORD.c.action_due_at)
    ).all()
    return [_action_flag(r, "action_due_soon", "due_soon") for r in rows]


def _action_flag(row: Row, action: str, event: str) -> _Flag:  # type: ignore[type-arg]
    payload: dict[str, object] = {"record": row.id, "due_at": row.action_due_at.isoformat()}
    return _Flag(row.case_id, action, event, payload, row.action_due_at)


def _longest_lead(definitions: Iterable[Definition]) -> timedelta:
    """Return how far before its deadline any definition could warn of an action."""
    longest = timedelta(0)
    for definition in definitions:
        lead = definition.warn_before
        if lead.kind == HOURS:
            span = timedelta(hours=lead.amount)
        elif lead.kind == WORKING_DAYS:
            # Generous: weekends, a run of bank holidays and closures, and an hour change.
            span = timedelta(days=2 * lead.amount + 14)
        else:
            span = _LONGEST_ACTION * lead.amount
        longest = max(longest, span)
    return longest + timedelta(hours=1)


_FLAGGERS = {
    "step_overdue": _flag_steps_overdue,
    "step_due_soon": _flag_steps_due_soon,
    "action_overdue": _flag_actions_overdue,
    "action_due_soon": _flag_actions_due_soon,
}


def _record_and_queue(ctx: Context, uow: UnitOfWork, flags: Sequence[_Flag]) -> int:
    """Write one history event per flag and queue its e-mails; return how many."""
    found = notify.audiences(uow.session, ctx.workflows, sorted({f.case_id for f in flags}))
    cases = {audience.case_id: audience for audience in found}
    told = Recipients(uow.session, found, {f.event for f in flags})
    queued: list[Message] = []
    for flag in flags:
        case = cases[flag.case_id]
        uow.record_event(
            actor=ACTOR,
            action=flag.action,
            case_ref=case.reference,
            from_state=case.state,
            to_state=case.state,
            payload=flag.payload,
        )
        queued.extend(_messages(ctx, case, flag, told.of(case, flag.event)))
    return uow.queue(queued)


def _messages(ctx: Context, case: Audience, flag: _Flag, people: Sequence[Person]) -> list[Message]:
    """Return one e-mail per person: the reference, what happened, what is expected, a link."""
    if not people:
        return []
    definition = case.definition
    by = notify.when(flag.due_at, definition)
    if flag.step_level is not None:
        level = definition.level(flag.step_level)
        stage = f"{definition.level_word} {definition.level_number(flag.step_level)}"
        acting = f"those acting at this {definition.level_word}"
        new_time = ""
        if definition.agreed_between_parties:
            new_time = " or agree a new timescale between the parties"
        if flag.event == "overdue":
            subject = f"overdue at {stage}"
            happened = (
                f"Case {case.reference} has passed its timescale at {stage} ({level.title}): "
                f"a decision was due {by}."
            )
            expected = f"{acting} decide now and record it{new_time}."
        else:
            subject = f"decision due soon at {stage}"
            happened = (
                f"Case {case.reference} is due for a decision at {stage} ({level.title}) by {by}."
            )
            expected = f"{acting} decide and record it by {by}{new_time}."
        kind = flag.event
    elif flag.event == "overdue":
        subject, kind = "an agreed action is overdue", "action_overdue"
        happened = (
            f"An action agreed on case {case.reference} was due {by} and is not recorded as done."
        )
        expected = (
            "the person who agreed to it completes it now and marks it as done on the case "
            "(or withdraws it there, saying why, if it is no longer needed)."
        )
    else:
        subject, kind = "an agreed action is due soon", "action_due_soon"
        happened = f"An action agreed on case {case.reference} is due {by}."
        expected = (
            f"the person who agreed to it completes it by {by} and marks it as done on the case."
        )
    return notify.messages(
        ctx,
        people,
        kind=kind,
        case=case,
        subject=subject,
        happened=happened,
        expected=expected,
        urgent=case.urgent,
    )
