"""The beginning and end every change to a case shares, and the checks of their input."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ..domain import rules, status
from ..domain.calendar import deadline, warning_time
from ..domain.definitions import Definition
from ..domain.status import timescale_for
from ..models import Case, Step, User
from . import notify
from .core import Context, UnitOfWork, unit_of_work
from .errors import Conflict, Forbidden, Invalid, NotFound
from .loading import access_of, actor_of, load_cases

MAX_AHEAD = timedelta(days=366)


def load_actor(session: Session, actor_id: int) -> User:
    user = session.get(User, actor_id, populate_existing=True)  # as of this change
    if user is None or not user.active:
        raise Forbidden("your account is not active")
    return user


def checked_text(value: str | None, name: str, limit: int, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise Invalid.field(name, "must not be empty")
        return None
    if len(value) > limit:
        raise Invalid.field(name, f"must be at most {limit} characters (it has {len(value)})")
    if not rules.printable(value):
        raise Invalid.field(name, rules.NOT_PRINTABLE)
    return value.strip()


def future(value: datetime, name: str, now: datetime) -> datetime:
    if value.tzinfo is None:
        raise Invalid.field(
            name, "give a time with its offset, for example 2026-12-01T17:00:00+00:00"
        )
    if not rules.in_range(value):  # before comparing: an offset could overflow at the ends
        raise Invalid.field(name, rules.OUT_OF_RANGE)
    if value <= now:
        raise Invalid.field(name, "must be in the future")
    if value > now + MAX_AHEAD:
        raise Invalid.field(name, "must be within a year")
    return value


def open_step(definition: Definition, case: Case, level_key: str, now: datetime) -> Step:
    """Start the case's clock at a level: a new step, added to the case."""
    timescale = timescale_for(definition, level_key, case.urgent).timescale
    counted_from = case.raised_at if definition.counted_from == "case" else now
    due = deadline(counted_from, timescale, definition.calendar)
    if due <= now:
        due = deadline(now, timescale, definition.calendar)
    step = Step(
        number=len(case.steps) + 1,
        level=level_key,
        started_at=now,
        due_at=due,
        warn_at=warning_time(now, due, definition.warn_before, definition.calendar),
        timescale_status="default",
        went_overdue=False,
    )
    case.steps.append(step)
    set_clock(case, step)
    return step


def set_clock(case: Case, step: Step | None) -> None:
    """Copy the case's current clock (None: it has closed) onto each of its agencies' rows."""
    for involved in case.agencies:
        involved.level = step.level if step else None
        involved.due_at = step.due_at if step else None
        involved.warn_at = step.warn_at if step else None


@dataclass
class Change:
    """One change to one case, begun by `change_case`: the case locked, loaded, seen by
    the actor, open and at the version the actor saw."""

    ctx: Context
    uow: UnitOfWork
    actor: User
    case: Case
    definition: Definition

    @property
    def who(self) -> rules.Actor:
        return actor_of(self.actor)

    @property
    def access(self) -> rules.CaseAccess:
        return access_of(self.case)

    @property
    def step(self) -> Step:
        """Return the open case's current step."""
        step = self.case.current_step
        assert step is not None  # an open case always has one
        return step

    def done(
        self,
        action: str,
        payload: Mapping[str, Any],
        *,
        from_state: str | None = None,
        acted: bool = True,
    ) -> None:
        """End the change: the actor becomes a party (when they `acted`: reading a record is
        not acting), the version moves on, the event is kept."""
        if acted:
            notify.ensure_party(self.uow, self.case, self.actor, "acted")
        self.case.version += 1
        self.uow.record_event(
            actor=self.actor,
            action=action,
            case_ref=self.case.reference,
            from_state=from_state or self.case.state,
            to_state=self.case.state,
            payload=payload,
        )

    def tell(
        self, event: str, *, kind: str | None = None, subject: str, happened: str, expected: str
    ) -> None:
        """Queue the e-mails the definition asks for on `event`, to everyone but the actor."""
        people = notify.recipients(
            self.uow.session, self.case, self.definition, event, exclude=[self.actor.id]
        )
        self.uow.queue(
            notify.messages(
                self.ctx,
                people,
                kind=kind or event,
                case=self.case,
                subject=subject,
                happened=happened,
                expected=expected,
                urgent=self.urgent,
            )
        )

    @property
    def urgent(self) -> bool:
        """Whether the case is on the urgent route's clock: every e-mail about it says so."""
        return status.is_urgent(
            self.definition, self.case.outcome_level or self.case.state, self.case.urgent
        )

    def tell_person(
        self, user: User, *, kind: str, subject: str, happened: str, expected: str
    ) -> None:
        """Queue an e-mail to one person (a proposer told of the answer), if still active."""
        if not user.active or user.id == self.actor.id:
            return
        self.uow.queue(
            notify.messages(
                self.ctx,
                [notify.Person(user.id, user.email, user.name)],
                kind=kind,
                case=self.case,
                subject=subject,
                happened=happened,
                expected=expected,
                urgent=self.urgent,
            )
        )


@contextmanager
def change_case(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    expected_version: int | None = None,
) -> Iterator[Change]:
    """Begin a change to one case: lock it, load it whole, check it may be changed."""
    with unit_of_work(session, ctx.now, case_id=case_id) as uow:
        actor = load_actor(session, actor_id)
        found = load_cases(session, [case_id])
        if not found or not rules.can_see(actor_of(actor), access_of(found[0])):
            raise NotFound(f"no case {case_id}")
        case = found[0]
        if case.closed:
            raise Conflict(f"case {case.reference} is closed: it accepts nothing more")
        if expected_version is not None and expected_version != case.version:
            raise Conflict(
                f"the case has changed since you loaded it (version {expected_version}, "
                f"now {case.version}): reload and try again",
                {"version": [f"stale: the case is now at version {case.version}"]},
            )
        definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
        yield Change(ctx, uow, actor, case, definition)
