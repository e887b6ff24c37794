"""The use-cases of a case: raise, write, acknowledge, agree a timescale, act.

Each loads rows, asks the domain, writes rows with their history event and
notifications, and commits once; a refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from ..domain import rules
from ..domain.calendar import deadline, warning_time
from ..domain.definitions import Definition, Level
from ..domain.machines import ActionNotAllowed
from ..extensions import db
from ..models import Acknowledgement, Agency, Case, CaseAgency, CaseTheme, Record, Step, User
from . import notify
from .core import Context, UnitOfWork, load_user, unit_of_work
from .errors import Conflict, Forbidden, Invalid, NotFound

MAX_AHEAD = timedelta(days=366)
# Statements raising a case runs every time, built once.
_AGENCIES_BY_CODE = select(Agency).where(Agency.code.in_(bindparam("codes", expanding=True)))
_USERS_BY_EMAIL = select(User).where(User.email.in_(bindparam("emails", expanding=True)))
_LAST_CASE_ID = select(func.max(Case.id))
_CASE_WITH_COLLECTIONS = (
    joinedload(Case.agencies),
    joinedload(Case.parties),
    joinedload(Case.steps),
)


@dataclass(frozen=True)
class ImmediateRisk:
    referral_made: bool
    referred_to: str | None = None
    at: datetime | None = None


def actor_of(user: User) -> rules.Actor:
    """Return the domain's view of a user."""
    return rules.Actor(id=user.id, role=user.role, agency=user.agency.code)


def access_of(case: Case) -> rules.CaseAccess:
    """Return the facts about a case that decide access."""
    return rules.CaseAccess(
        raiser_id=case.raised_by_id,
        party_ids=frozenset(p.user_id for p in case.parties),
        agencies=frozenset(ca.agency.code for ca in case.agencies),
        state=case.state,
        closed=case.closed,
    )


def _load_actor(uow: UnitOfWork, actor_id: int) -> User:
    user = load_user(uow.session, actor_id)
    if user is None or not user.active:
        raise Forbidden("your account is not active")
    return user


def _load_case(session: Session, user: User, case_id: int) -> Case:
    """Return a case the user may see; one they may not see does not exist for them.

    Its agencies, parties and steps come in the same statement: the default (one select
    per collection) cost three round trips and as many ORM loaders, 5-10% of an
    escalation on PostgreSQL; on SQLite the two ways are even."""
    case = session.get(Case, case_id, options=_CASE_WITH_COLLECTIONS)
    if case is None or not rules.can_see(actor_of(user), access_of(case)):
        raise NotFound(f"no case {case_id}")
    return case


def _check_version(case: Case, expected: int | None) -> None:
    if expected is not None and expected != case.version:
        raise Conflict(
            f"the case has changed since you loaded it (version {expected}, now {case.version}): reload and try again",
            {"version": [f"stale: the case is now at version {case.version}"]},
        )


def _text(value: str | None, name: str, limit: int, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise Invalid.field(name, "must not be empty")
        return None
    if len(value) > limit:
        raise Invalid.field(name, f"must be at most {limit} characters (it has {len(value)})")
    return value.strip()


def _future(value: datetime, name: str, now: datetime) -> datetime:
    if value.tzinfo is None:
        raise Invalid.field(
            name, "give a time with its offset, for example 2026-12-01T17:00:00+00:00"
        )
    if value <= now:
        raise Invalid.field(name, "must be in the future")
    if value > now + MAX_AHEAD:
        raise Invalid.field(name, "must be within a year")
    return value


def _timescale_for(definition: Definition, level: Level, case: Case):  # noqa: ANN202
    if case.urgent and definition.urgent is not None:
        return definition.urgent.timescale
    return level.timescale


def _open_step(uow: UnitOfWork, definition: Definition, case: Case, level_key: str) -> Step:
    now = uow.now
    level = definition.level(level_key)
    timescale = _timescale_for(definition, level, case)
    counted_from = case.raised_at if definition.counted_from == "case" else now
    due = deadline(counted_from, timescale, definition.calendar)
    if due <= now:
        due = deadline(now, timescale, definition.calendar)
    step = uow.add(
        Step,
        case_id=case.id,
        number=len(case.steps) + 1,
        level=level_key,
        started_at=now,
        due_at=due,
        warn_at=warning_time(now, due, definition.warn_before, definition.calendar),
        timescale_status="default",
        went_overdue=False,
    )
    uow.append(case, "steps", step)
    return step


def _definition(ctx: Context, case: Case) -> Definition:
    return ctx.workflows.definition(case.workflow_key, case.workflow_version)


def raise_case(
    ctx: Context,
    actor_id: int,
    *,
    child_ref: str,
    category: str,
    summary: str,
    with_agencies: Sequence[str],
    with_people: Sequence[str] = (),
    child_initials: str | None = None,
    workflow: str | None = None,
    immediate_risk: ImmediateRisk | None = None,
) -> Case:
    """Raise a disagreement with one or more other agencies."""
    now = ctx.now
    registry = ctx.workflows.registry
    try:
        definition = registry.latest(workflow or registry.default_key)
    except KeyError:
        raise Invalid.field("workflow", f"unknown workflow '{workflow}'") from None
    child_ref = (child_ref or "").strip()
    if not rules.CHILD_REF_RE.match(child_ref):
        raise Invalid.field(
            "child_ref",
            "give the case reference the agencies already use: 2 to 40 letters, digits, '/', '-' or '.', never a name",
        )
    if child_initials is not None and child_initials.strip():
        child_initials = child_initials.strip().upper()
        if not rules.INITIALS_RE.match(child_initials):
            raise Invalid.field("child_initials", "give initials only: 1 to 4 letters")
    else:
        child_initials = None
    if category not in rules.CATEGORIES:
        raise Invalid.field("category", f"must be one of {', '.join(rules.CATEGORIES)}")
    summary_text = _text(summary, "summary", rules.MAX_SUMMARY)
    codes = list(dict.fromkeys(c.strip().upper() for c in with_agencies if c and c.strip()))
    if not codes:
        raise Invalid.field("with_agencies", "name at least one other agency")
    if len(codes) > 20:
        raise Invalid.field("with_agencies", "name at most 20 agencies")
    emails = list(dict.fromkeys(e.strip().lower() for e in with_people))
    if len(emails) > 50:
        raise Invalid.field("with_people", "name at most 50 people")
    risk = immediate_risk
    if risk is not None and risk.referral_made:
        if not risk.referred_to or not risk.referred_to.strip():
            raise Invalid.field("immediate_risk.referred_to", "say who the referral was made to")
        if len(risk.referred_to) > rules.MAX_REFERRED_TO:
            raise Invalid.field(
                "immediate_risk.referred_to", f"must be at most {rules.MAX_REFERRED_TO} characters"
            )
        if risk.at is None or risk.at.tzinfo is None:
            raise Invalid.field(
                "immediate_risk.at", "give when the referral was made, with its offset"
            )
        if risk.at > now:
            raise Invalid.field("immediate_risk.at", "cannot be in the future")

    with unit_of_work(now) as uow:
        session = uow.session
        actor = _load_actor(uow, actor_id)
        if actor.role not in ("practitioner", "manager", "lead"):
            raise Forbidden("only practitioners, managers and leads raise disagreements")
        agencies = {a.code: a for a in session.scalars(_AGENCIES_BY_CODE, {"codes": codes})}
        for code in codes:
            if code not in agencies or not agencies[code].active:
                raise Invalid.field("with_agencies", f"unknown agency '{code}'")
        if set(codes) == {actor.agency.code}:
            raise Invalid.field("with_agencies", "name at least one agency other than your own")
        people: list[User] = []
        if emails:
            found = {u.email: u for u in session.scalars(_USERS_BY_EMAIL, {"emails": emails})}
            involved = set(codes) | {actor.agency.code}
            for email in emails:
                user = found.get(email)
                if user is None or not user.active:
                    raise Invalid.field("with_people", f"unknown user '{email}'")
                if user.agency.code not in involved or user.role not in (
                    "practitioner",
                    "manager",
                    "lead",
                ):
                    raise Invalid.field(
                        "with_people",
                        f"'{email}' is not a practitioner, manager or lead of a named agency",
                    )
                people.append(user)
        urgent = bool(risk and risk.referral_made and definition.urgent is not None)
        start = definition.urgent.start if urgent and definition.urgent else definition.initial
        number = (session.scalar(_LAST_CASE_ID) or 0) + 1
        case = uow.add(
            Case,
            reference=f"RC-{number:06d}",
            workflow_key=definition.key,
            workflow_version=definition.version,
            state=start,
            closed=False,
            child_ref=child_ref,
            child_initials=child_initials,
            category=category,
            summary=summary_text,
            raised_by_id=actor.id,
            raised_agency_id=actor.agency_id,
            raised_at=now,
            urgent=urgent,
            referral_made=risk.referral_made if risk else None,
            referred_to=risk.referred_to.strip()
            if risk and risk.referral_made and risk.referred_to
            else None,
            referral_at=risk.at if risk and risk.referral_made else None,
            version=1,
            raised_by=actor,
            agencies=[],
            parties=[],
            steps=[],
            themes=[],
        )
        involved_agencies = [(actor.agency, True)] + [
            (agencies[code], False) for code in codes if code != actor.agency.code
        ]
        for agency, raising in involved_agencies:
            uow.append(
                case,
                "agencies",
                uow.add(
                    CaseAgency, case_id=case.id, agency_id=agency.id, agency=agency, raising=raising
                ),
            )
        notify.ensure_party(uow, case, actor, "raised")
        for person in people:
            notify.ensure_party(uow, case, person, "named")
        step = _open_step(uow, definition, case, start)
        uow.record_event(
            actor=actor,
            action="raised",
            case_ref=case.reference,
            to_state=start,
            payload={
                "workflow": f"{definition.key} v{definition.version}",
                "child_ref": child_ref,
                "category": category,
                "summary": summary_text,
                "agencies": [ca.agency.code for ca in case.agencies],
                "parties": [p.user.email for p in case.parties],
                "urgent": urgent,
                "referral": (
                    {"to": case.referred_to, "at": risk.at.isoformat()}
                    if risk and risk.referral_made and risk.at
                    else None
                ),
                "due_at": step.due_at.isoformat(),
            },
        )
        level = definition.level(start)
        uow.queue(
            notify.messages(
                ctx,
                notify.recipients(uow, case, definition, "raised", exclude=[actor.id]),
                kind="raised",
                case=case,
                subject="a professional disagreement has been raised with your agency",
                happened=(
                    f"{actor.name} ({actor.agency.name}) has raised a professional disagreement, "
                    f"case {case.reference}, at {definition.level_word} {definition.level_number(start)}: {level.title}."
                ),
                expected=f"talk it through and record the discussion by {notify.when(step.due_at, definition)}.",
            )
        )
    return case


def add_record(
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    kind: str,
    text: str,
    action_due: datetime | None = None,
    corrects: int | None = None,
) -> Record:
    """Add a written record shared with every party; records are never edited."""
    if kind not in rules.RECORD_KINDS:
        raise Invalid.field("kind", f"must be one of {', '.join(rules.RECORD_KINDS)}")
    body = _text(text, "text", rules.MAX_RECORD)
    if kind == "action":
        if action_due is None:
            raise Invalid.field("action_due", "an agreed action needs its own deadline")
        _future(action_due, "action_due", ctx.now)
    elif action_due is not None:
        raise Invalid.field("action_due", "only an action has a deadline")
    with unit_of_work(ctx.now, case_id=case_id) as uow:
        session = uow.session
        actor = _load_actor(uow, actor_id)
        case = _load_case(session, actor, case_id)
        definition = _definition(ctx, case)
        if case.closed:
            raise Conflict(f"case {case.reference} is closed: nothing more can be added")
        if not rules.may_write(actor_of(actor), access_of(case), definition):
            raise Forbidden("only the parties and those acting at this level can add to the record")
        if corrects is not None:
            original = session.get(Record, corrects)
            if original is None or original.case_id != case.id:
                raise Invalid.field("corrects", f"no record {corrects} on this case")
        step = case.current_step
        assert step is not None  # noqa: S101 - an open case always has a step
        record = uow.add(
            Record,
            case_id=case.id,
            step_number=step.number,
            kind=kind,
            text=body,
            author_id=actor.id,
            author=actor,
            at=ctx.now,
            corrects_id=corrects,
            action_due_at=action_due,
            acknowledgements=[],
        )
        notify.ensure_party(uow, case, actor, "acted")
        uow.update(case, version=case.version + 1)
        uow.record_event(
            actor=actor,
            action="record_added",
            case_ref=case.reference,
            from_state=case.state,
            to_state=case.state,
            payload={
                "record": record.id,
                "kind": kind,
                "text": body,
                "action_due": action_due.isoformat() if action_due else None,
                "corrects": corrects,
            },
        )
        uow.queue(
            notify.messages(
                ctx,
                notify.recipients(uow, case, definition, "record_added", exclude=[actor.id]),
                kind="record_added",
                case=case,
                subject=f"a new {kind} has been added to the record",
                happened=f"{actor.name} ({actor.agency.name}) added a {kind} to the shared record of case {case.reference}.",
                expected=(
                    f"read it and mark it as read; the action is due {notify.when(action_due, definition)}."
                    if action_due
                    else "read it and mark it as read."
                ),
            )
        )
    return record


def acknowledge(ctx: Context, actor_id: int, record_id: int) -> Record:
    """Record that a party has read a record (once; again is harmless)."""
    # A record never moves: its case is known before the change, so the change locks
    # that case like every other change to one case (it bumps the case's version).
    case_id = db.session.scalar(select(Record.case_id).where(Record.id == record_id))
    if case_id is None:
        raise NotFound(f"no record {record_id}")
    with unit_of_work(ctx.now, case_id=case_id) as uow:
        session = uow.session
        actor = _load_actor(uow, actor_id)
        record = session.get(Record, record_id)
        if record is None:
            raise NotFound(f"no record {record_id}")
        try:
            case = _load_case(session, actor, record.case_id)
        except NotFound:
            raise NotFound(f"no record {record_id}") from None
        access = access_of(case)
        if actor.role in ("auditor", "admin") or not (
            rules.is_party(actor_of(actor), access)
            or rules.may_write(actor_of(actor), access, _definition(ctx, case))
        ):
            raise Forbidden("only the parties acknowledge records")
        if any(a.user_id == actor.id for a in record.acknowledgements):
            return record
        ack = uow.add(
            Acknowledgement, record_id=record.id, user_id=actor.id, user=actor, at=ctx.now
        )
        uow.append(record, "acknowledgements", ack)
        uow.update(case, version=case.version + 1)
        uow.record_event(
            actor=actor,
            action="record_acknowledged",
            case_ref=case.reference,
            from_state=case.state,
            to_state=case.state,
            payload={"record": record.id},
        )
    return record


def propose_timescale(
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    due_at: datetime,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Propose when the current level should be decided by."""
    reason_text = _text(reason, "reason", rules.MAX_REASON)
    _future(due_at, "due_at", ctx.now)
    with unit_of_work(ctx.now, case_id=case_id) as uow:
        session = uow.session
        actor = _load_actor(uow, actor_id)
        case = _load_case(session, actor, case_id)
        definition = _definition(ctx, case)
        if case.closed:
            raise Conflict(f"case {case.reference} is closed")
        _check_version(case, expected_version)
        if not definition.agreed_between_parties:
            raise Conflict(
                "this process sets its timescales: they are not agreed between the parties"
            )
        if not rules.may_write(actor_of(actor), access_of(case), definition):
            raise Forbidden("only the parties propose a timescale")
        step = case.current_step
        assert step is not None  # noqa: S101
        uow.update(
            step,
            timescale_status="proposed",
            proposed_due_at=due_at,
            proposed_by_id=actor.id,
            proposed_by=actor,
            proposed_reason=reason_text,
        )
        notify.ensure_party(uow, case, actor, "acted")
        uow.update(case, version=case.version + 1)
        uow.record_event(
            actor=actor,
            action="timescale_proposed",
            case_ref=case.reference,
            from_state=case.state,
            to_state=case.state,
            payload={"step": step.number, "due_at": due_at.isoformat(), "reason": reason_text},
        )
    return case


def accept_timescale(
    ctx: Context, actor_id: int, case_id: int, *, expected_version: int | None = None
) -> Case:
    """Accept the proposed timescale: a party of another agency than the proposer's."""
    with unit_of_work(ctx.now, case_id=case_id) as uow:
        session = uow.session
        actor = _load_actor(uow, actor_id)
        case = _load_case(session, actor, case_id)
        definition = _definition(ctx, case)
        if case.closed:
            raise Conflict(f"case {case.reference} is closed")
        _check_version(case, expected_version)
        step = case.current_step
        assert step is not None  # noqa: S101
        if (
            step.timescale_status != "proposed"
            or step.proposed_by is None
            or step.proposed_due_at is None
        ):
            raise Conflict("no timescale has been proposed at this level")
        if not rules.may_write(actor_of(actor), access_of(case), definition):
            raise Forbidden("only the parties accept a timescale")
        if actor.agency_id == step.proposed_by.agency_id:
            raise Forbidden(
                "a timescale is agreed by a party from another agency than the proposer's"
            )
        if step.proposed_due_at <= ctx.now:
            raise Conflict("the proposed date has passed: propose a new one")
        proposer = step.proposed_by
        due = step.proposed_due_at
        uow.update(
            step,
            due_at=due,
            warn_at=warning_time(step.started_at, due, definition.warn_before, definition.calendar),
            overdue_at=None,
            due_soon_at=None,
            timescale_status="agreed",
            agreed_by_id=actor.id,
            agreed_by=actor,
            agreed_proposer_id=proposer.id,
            agreed_proposer=proposer,
            agreed_reason=step.proposed_reason,
            agreed_at=ctx.now,
            proposed_due_at=None,
            proposed_by_id=None,
            proposed_by=None,
            proposed_reason=None,
        )
        notify.ensure_party(uow, case, actor, "acted")
        uow.update(case, version=case.version + 1)
        uow.record_event(
            actor=actor,
            action="timescale_agreed",
            case_ref=case.reference,
            from_state=case.state,
            to_state=case.state,
            payload={
                "step": step.number,
                "due_at": step.due_at.isoformat(),
                "agreed_by": [proposer.email, actor.email],
                "reason": step.agreed_reason,
            },
        )
    return case


def take_action(
    ctx: Context,
    actor_id: int,
    case_id: int,
    action_key: str,
    *,
    record: str | None,
    expected_version: int | None,
    outcome: Mapping[str, Any] | None = None,
    learning: Mapping[str, Any] | None = None,
) -> Case:
    """Escalate, resolve, withdraw or take any action the definition adds."""
    with unit_of_work(ctx.now, case_id=case_id) as uow:
        session = uow.session
        actor = _load_actor(uow, actor_id)
        case = _load_case(session, actor, case_id)
        definition = _definition(ctx, case)
        action = definition.action(action_key)
        if action is None:
            raise NotFound(f"'{action_key}' is not an action of {definition.title}")
        if case.closed:
            raise Conflict(f"case {case.reference} is closed: no further action can be taken")
        machine = ctx.workflows.machine(case.workflow_key, case.workflow_version)
        if action_key not in machine.available(case.state):
            raise Conflict(
                f"'{action.title}' cannot be taken at {definition.level_word} "
                f"{definition.level_number(case.state)} ({definition.level(case.state).title})"
            )
        _check_version(case, expected_version)
        if not rules.may_take(actor_of(actor), access_of(case), definition, action):
            raise Forbidden(
                f"your role cannot take '{action.title}' at this {definition.level_word}"
            )
        record_text = _text(record, "record", rules.MAX_RECORD, required=action.requires_record)
        outcome_text = None
        referred_to = None
        if action.closes:
            outcome_text = _text(
                (outcome or {}).get("text"),
                "outcome.text",
                rules.MAX_OUTCOME,
                required=action.requires_outcome,
            )
            if outcome and outcome.get("referred_to") is not None:
                referred_to = _text(
                    outcome.get("referred_to"), "outcome.referred_to", rules.MAX_REFERRED_TO
                )
        elif outcome:
            raise Invalid.field("outcome", "only an action that closes the case takes an outcome")
        themes: list[str] = []
        learning_text = None
        if learning:
            if not action.closes:
                raise Invalid.field("learning", "learning is recorded with the outcome")
            learning_text = _text(
                learning.get("text"), "learning.text", rules.MAX_LEARNING, required=False
            )
            themes = list(dict.fromkeys(learning.get("themes") or []))
            for theme in themes:
                if theme not in rules.THEMES:
                    raise Invalid.field("learning.themes", f"unknown theme '{theme}'")
            if themes and not learning_text:
                raise Invalid.field("learning.text", "say what was learnt")
        from_state = case.state
        try:
            to_state = machine.fire(from_state, action_key)
        except ActionNotAllowed as exc:
            raise Conflict(str(exc)) from None
        step = case.current_step
        assert step is not None  # noqa: S101
        uow.update(step, ended_at=ctx.now)
        if record_text:
            uow.add(
                Record,
                case_id=case.id,
                step_number=step.number,
                kind="decision",
                text=record_text,
                author_id=actor.id,
                author=actor,
                at=ctx.now,
                acknowledgements=[],
            )
        notify.ensure_party(uow, case, actor, "acted")
        new_step = None
        if definition.is_closed_state(to_state):
            uow.update(
                case,
                state=to_state,
                closed=True,
                closed_at=ctx.now,
                outcome_kind=to_state,
                outcome_level=from_state,
                outcome_text=(
                    outcome_text
                    if not referred_to
                    else f"{outcome_text}\nReferred to: {referred_to}"
                ),
                outcome_by_id=actor.id,
                learning_text=learning_text,
                version=case.version + 1,
            )
            uow.update(
                case, themes=[uow.add(CaseTheme, case_id=case.id, theme=t) for t in sorted(themes)]
            )  # a case closes once: these are all its themes
        else:
            uow.update(case, state=to_state, version=case.version + 1)
            new_step = _open_step(uow, definition, case, to_state)
        uow.record_event(
            actor=actor,
            action=action_key,
            case_ref=case.reference,
            from_state=from_state,
            to_state=to_state,
            payload={
                "record": record_text,
                "outcome": outcome_text,
                "referred_to": referred_to,
                "learning": learning_text,
                "themes": themes,
                "due_at": new_step.due_at.isoformat() if new_step else None,
            },
        )
        _notify_action(ctx, uow, case, definition, actor, action.title, from_state, new_step)
    return case


def _notify_action(
    ctx: Context,
    uow: UnitOfWork,
    case: Case,
    definition: Definition,
    actor: User,
    title: str,
    from_state: str,
    new_step: Step | None,
) -> None:
    who = f"{actor.name} ({actor.agency.name})"
    if new_step is not None:
        level = definition.level(new_step.level)
        event = "escalated"
        happened = (
            f"{who} took the action '{title}' on case {case.reference}: it is now at "
            f"{definition.level_word} {definition.level_number(new_step.level)}, {level.title}."
        )
        expected = f"those acting at this {definition.level_word} decide by {notify.when(new_step.due_at, definition)}."
        subject = f"now at {definition.level_word} {definition.level_number(new_step.level)}: {level.title}"
    else:
        event = "closed"
        happened = f"{who} closed case {case.reference}: {case.outcome_kind} at {definition.level(from_state).title}."
        expected = "nothing more; read the outcome and any learning on the case."
        subject = f"closed ({case.outcome_kind})"
    uow.queue(
        notify.messages(
            ctx,
            notify.recipients(uow, case, definition, event, exclude=[actor.id]),
            kind=event,
            case=case,
            subject=subject,
            happened=happened,
            expected=expected,
        )
    )
