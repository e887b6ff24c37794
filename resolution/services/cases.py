"""The use-cases of a case: raise, write, acknowledge, act (timescales: `timescales`).

Each runs in one unit of work: it loads the case, asks the domain, changes the
session's objects, records its history event and queues its e-mails, and commits
once; a refusal writes nothing. A closed case accepts nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from ..account_models import Draft
from ..domain import rules
from ..domain.definitions import Definition
from ..models import Acknowledgement, Agency, Case, CaseAgency, CaseParty, Record, User
from . import notify
from .accounts import EMAIL_RE
from .actions import take_action
from .changes import (
    Change,
    change_case,
    checked_text,
    future,
    load_actor,
    open_step,
)
from .core import Context, unit_of_work
from .errors import Conflict, Forbidden, Invalid, NotFound

__all__ = ["ImmediateRisk", "take_action"]  # take_action lives in .actions
RAISING_ROLES = rules.RAISERS


@dataclass(frozen=True)
class ImmediateRisk:
    referral_made: bool
    referred_to: str | None = None
    at: datetime | None = None


def _checked_risk(risk: ImmediateRisk | None, now: datetime) -> ImmediateRisk | None:
    """Return the immediate-risk answer checked, or refuse it by field."""
    if risk is None or not risk.referral_made:
        return risk
    if not risk.referred_to or not risk.referred_to.strip():
        raise Invalid.field("immediate_risk.referred_to", "say who the referral was made to")
    if not rules.printable(risk.referred_to):
        raise Invalid.field("immediate_risk.referred_to", rules.NOT_PRINTABLE)
    if len(risk.referred_to) > rules.MAX_REFERRED_TO:
        raise Invalid.field(
            "immediate_risk.referred_to", f"must be at most {rules.MAX_REFERRED_TO} characters"
        )
    if risk.at is None or risk.at.tzinfo is None:
        raise Invalid.field("immediate_risk.at", "give when the referral was made, with its offset")
    if not rules.in_range(risk.at):  # before comparing: an offset could overflow at the ends
        raise Invalid.field("immediate_risk.at", rules.OUT_OF_RANGE)
    if risk.at > now:
        raise Invalid.field("immediate_risk.at", "cannot be in the future")
    return ImmediateRisk(True, risk.referred_to.strip(), risk.at)


def _named(
    session: Session, actor: User, codes: list[str], emails: list[str]
) -> tuple[list[Agency], list[User]]:
    """Return the other agencies and the people a new case names, or refuse them by field."""
    agencies = {a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(codes)))}
    for code in codes:
        if code not in agencies or not agencies[code].active:
            raise Invalid.field("with_agencies", f"unknown agency '{code}'")
    if set(codes) == {actor.agency.code}:
        raise Invalid.field("with_agencies", "name at least one agency other than your own")
    found = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
    involved = set(codes) | {actor.agency.code}
    people = []
    for email in emails:
        user = found.get(email)
        if not EMAIL_RE.match(email):
            raise Invalid.field(
                "with_people", f"'{email}' is not an email address: give one like name@agency.org"
            )
        if user is None or not user.active:
            raise Invalid.field(
                "with_people", f"no one with the email address '{email}' uses this service"
            )
        if user.agency.code not in involved or user.role not in RAISING_ROLES:
            raise Invalid.field(
                "with_people", f"'{email}' is not a practitioner, manager or lead of a named agency"
            )
        people.append(user)
    others = [agencies[code] for code in codes if code != actor.agency.code]
    notify.refuse_unreached(session, notify.reaches(session, others, people))
    return others, people


def _codes_and_emails(
    with_agencies: Sequence[str], with_people: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Return the agency codes and e-mail addresses named, tidied, each once."""
    codes = list(dict.fromkeys(c.strip().upper() for c in with_agencies if c and c.strip()))
    return codes, list(dict.fromkeys(e.strip().lower() for e in with_people))


@dataclass(frozen=True)
class _NewCase:
    """A new case's answers, checked before anything is read or written."""

    definition: Definition
    child_ref: str
    initials: str | None
    category: str
    summary: str
    codes: list[str]  # the agencies named
    emails: list[str]  # the people named
    referral: ImmediateRisk | None  # the referral made for a child at immediate risk
    referral_made: bool | None  # None when the question was not answered


def _checked(
    ctx: Context,
    child_ref: str,
    category: str,
    summary: str,
    with_agencies: Sequence[str],
    with_people: Sequence[str],
    child_initials: str | None,
    workflow: str | None,
    immediate_risk: ImmediateRisk | None,
) -> _NewCase:
    """Return a new case's answers checked, or refuse the first bad one by field."""
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
    initials = (child_initials or "").strip().upper() or None
    if initials is not None and not rules.INITIALS_RE.match(initials):
        raise Invalid.field("child_initials", "give initials only: 1 to 4 letters")
    if category not in rules.CATEGORIES:
        raise Invalid.field("category", f"must be one of {', '.join(rules.CATEGORIES)}")
    summary_text = checked_text(summary, "summary", rules.MAX_SUMMARY)
    assert summary_text is not None  # required
    codes, emails = _codes_and_emails(with_agencies, with_people)
    if not codes:
        raise Invalid.field("with_agencies", "name at least one other agency")
    if len(codes) > 20:
        raise Invalid.field("with_agencies", "name at most 20 agencies")
    if not all(rules.printable(code) for code in codes):
        raise Invalid.field("with_agencies", rules.NOT_PRINTABLE)
    if len(emails) > 50:
        raise Invalid.field("with_people", "name at most 50 people")
    if not all(rules.printable(email) for email in emails):
        raise Invalid.field("with_people", rules.NOT_PRINTABLE)
    risk = _checked_risk(immediate_risk, ctx.now)
    return _NewCase(
        definition=definition,
        child_ref=child_ref,
        initials=initials,
        category=category,
        summary=summary_text,
        codes=codes,
        emails=emails,
        referral=risk if risk is not None and risk.referral_made else None,
        referral_made=risk.referral_made if risk is not None else None,
    )


def raise_case(
    session: Session,
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
    draft_id: int | None = None,
) -> Case:
    """Raise a disagreement with one or more other agencies; the author's draft of it,
    if named, goes in the same transaction."""
    new = _checked(
        ctx, child_ref, category, summary, with_agencies, with_people, child_initials,
        workflow, immediate_risk,
    )  # fmt: skip
    definition, referral, now = new.definition, new.referral, ctx.now
    with unit_of_work(session, now) as uow:
        actor = load_actor(session, actor_id)
        if actor.role not in RAISING_ROLES:
            raise Forbidden("only practitioners, managers and leads raise disagreements")
        others, people = _named(session, actor, new.codes, new.emails)
        urgent = referral is not None and definition.urgent is not None
        start = definition.urgent.start if urgent and definition.urgent else definition.initial
        number = (session.scalar(select(func.max(Case.id))) or 0) + 1
        case = Case(
            reference=f"RC-{number:06d}",
            workflow_key=definition.key,
            workflow_version=definition.version,
            state=start,
            closed=False,
            child_ref=new.child_ref,
            child_initials=new.initials,
            category=new.category,
            summary=new.summary,
            raised_by=actor,
            raised_agency_id=actor.agency_id,
            raised_at=now,
            urgent=urgent,
            referral_made=new.referral_made,
            referred_to=referral.referred_to if referral else None,
            referral_at=referral.at if referral else None,
            version=1,
            agencies=[CaseAgency(agency=actor.agency, agency_id=actor.agency_id, raising=True)]
            + [CaseAgency(agency=a, agency_id=a.id, raising=False) for a in others],
            parties=[CaseParty(user=actor, user_id=actor.id, joined_at=now, how="raised")]
            + [
                CaseParty(user=p, user_id=p.id, joined_at=now, how="named")
                for p in people
                if p.id != actor.id  # naming oneself adds nothing
            ],
        )
        session.add(case)
        if draft_id is not None:
            gone = session.execute(delete(Draft).where(Draft.owned(draft_id, actor.id)))
            assert isinstance(gone, CursorResult)  # as a DELETE's is (typed as a Result)
            if not gone.rowcount:  # raised a moment ago (a second click) or deleted
                raise Conflict("this draft has been raised or deleted already")
        step = open_step(definition, case, start, now)
        uow.record_event(
            actor=actor,
            action="raised",
            case_ref=case.reference,
            to_state=start,
            payload={
                "workflow": f"{definition.key} v{definition.version}",
                "child_ref": new.child_ref,
                "category": new.category,
                "summary": new.summary,
                "agencies": [ca.agency.code for ca in case.agencies],
                "parties": [p.user.email for p in case.parties],
                "urgent": urgent,
                "referral": (
                    {"to": referral.referred_to, "at": referral.at.isoformat()}
                    if referral and referral.at
                    else None
                ),
                "due_at": step.due_at.isoformat(),
            },
        )
        session.flush()  # the case's id, for the e-mails' links
        Change(ctx, uow, actor, case, definition).tell(
            "raised",
            subject="a professional disagreement has been raised with your agency",
            happened=(
                f"{actor.name} ({actor.agency.name}) has raised a professional disagreement, "
                f"case {case.reference}, at {definition.level_word} "
                f"{definition.level_number(start)}: {definition.level(start).title}."
            ),
            expected=f"talk it through and record the discussion by {notify.when(step.due_at, definition)}.",
        )
    return case


def add_record(
    session: Session,
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
    body = checked_text(text, "text", rules.MAX_RECORD)
    if kind == "action":
        if action_due is None:
            raise Invalid.field("action_due", "an agreed action needs its own deadline")
        future(action_due, "action_due", ctx.now)
    elif action_due is not None:
        raise Invalid.field("action_due", "only an action has a deadline")
    with change_case(session, ctx, actor_id, case_id) as change:
        case, actor, definition = change.case, change.actor, change.definition
        if not rules.may_write(change.who, change.access, definition):
            raise Forbidden("only the parties and those acting at this level can add to the record")
        original = session.get(Record, corrects) if corrects is not None else None
        if corrects is not None and (original is None or original.case_id != case.id):
            raise Invalid.field("corrects", f"no record {corrects} on this case")
        record = Record(
            case_id=case.id,
            step_number=change.step.number,
            kind=kind,
            text=body,
            author=actor,
            at=ctx.now,
            corrects_id=corrects,
            action_due_at=action_due,
        )
        session.add(record)
        session.flush()  # the record's id, for its event
        change.done(
            "record_added",
            {
                "record": record.id,
                "kind": kind,
                "text": body,
                "action_due": action_due.isoformat() if action_due else None,
                "corrects": corrects,
            },
        )
        change.tell(
            "record_added",
            subject=f"a new {kind} has been added to the record",
            happened=f"{actor.name} ({actor.agency.name}) added a {kind} to the shared record of case {case.reference}.",
            expected=(
                f"read it and mark it as read; the action is due {notify.when(action_due, definition)}."
                if action_due
                else "read it and mark it as read."
            ),
        )
    return record


def acknowledge(session: Session, ctx: Context, actor_id: int, record_id: int) -> Record:
    """Record that a party has read a record (once; again is harmless)."""
    # A record never moves: its case is known before the change, which locks that case.
    case_id = session.scalar(select(Record.case_id).where(Record.id == record_id))
    if case_id is None:
        raise NotFound(f"no record {record_id}")
    try:
        with change_case(session, ctx, actor_id, case_id) as change:
            record = session.get(Record, record_id, populate_existing=True)
            assert record is not None  # records are never deleted
            if not rules.may_acknowledge(change.who, change.access, change.definition):
                raise Forbidden("only the parties acknowledge records")
            if any(a.user_id == change.actor.id for a in record.acknowledgements):
                return record
            record.acknowledgements.append(Acknowledgement(user=change.actor, at=ctx.now))
            change.done("record_acknowledged", {"record": record.id}, acted=False)
    except NotFound:
        raise NotFound(f"no record {record_id}") from None
    return record
