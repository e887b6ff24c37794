"""A case as the doors show it: typed values built from the loaded case, its definition and
the time. The API dumps them through its schemas; the case page renders the same ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..domain import rules, status
from ..domain.definitions import Definition
from ..domain.machines import Workflows
from ..domain.status import TimescaleBasis
from ..models import AuditEvent, Case, Record, Step, User
from .loading import access_of, actor_of


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    email: str
    agency: str  # the agency's code
    agency_name: str
    role: str

    @classmethod
    def of(cls, user: User) -> PersonView:
        return cls(user.id, user.name, user.email, user.agency.code, user.agency.name, user.role)


@dataclass(frozen=True)
class ReaderView(PersonView):
    at: datetime | None = None  # when they marked the record as read


@dataclass(frozen=True)
class TimescaleView:
    status: str  # default / proposed / agreed
    default: str  # the timescale the process sets for this level of this case
    basis: TimescaleBasis
    agreed_by: list[PersonView]
    reason: str | None
    proposed_due_at: datetime | None
    proposed_by: PersonView | None
    declined_by: PersonView | None = None
    declined_at: datetime | None = None


@dataclass(frozen=True)
class StepView:
    number: int
    stage: str
    title: str
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    ended_at: datetime | None
    timescale: TimescaleView
    overdue: bool
    due_soon: bool
    went_overdue: bool
    urgent: bool

    @property
    def agreed(self) -> bool:
        return self.timescale.status == status.AGREED

    @property
    def proposed(self) -> bool:
        return self.timescale.status == status.PROPOSED

    @property
    def declined(self) -> bool:
        return self.timescale.status == status.DECLINED

    @property
    def proposal(self) -> rules.Proposal | None:
        """Return the timescale proposed here, if one waits for an answer."""
        ts = self.timescale
        if not self.proposed or ts.proposed_by is None or ts.proposed_due_at is None:
            return None
        return rules.Proposal(ts.proposed_by.agency, ts.proposed_due_at)


@dataclass(frozen=True)
class RecordView:
    id: int
    kind: str
    text: str | None
    author: PersonView
    at: datetime
    step: int
    action_due: datetime | None
    corrects: int | None
    acknowledged_by: list[ReaderView]
    done_at: datetime | None = None
    done_by: PersonView | None = None
    done_note: str | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by: PersonView | None = None
    withdrawn_reason: str | None = None
    overdue: bool = False  # an agreed action, open and past its deadline

    @property
    def open_action(self) -> bool:
        """Say whether this is an agreed action still open."""
        return self.kind == "action" and status.action_open(
            done_at=self.done_at, withdrawn_at=self.withdrawn_at
        )


@dataclass(frozen=True)
class AgencyView:
    code: str
    name: str
    raising: bool


@dataclass(frozen=True)
class WorkflowRef:
    key: str
    version: int
    title: str


@dataclass(frozen=True)
class RiskView:
    referral_made: bool
    referred_to: str | None
    at: datetime | None


@dataclass(frozen=True)
class OutcomeView:
    kind: str | None
    level: str | None
    text: str | None
    at: datetime | None


@dataclass(frozen=True)
class LearningView:
    text: str | None
    themes: list[str]


@dataclass(frozen=True)
class ClosingView:
    action: str
    title: str
    outcome_kind: str
    outcome_text: str | None
    proposed_by: PersonView
    proposed_at: datetime
    status: str  # proposed / declined
    declined_by: PersonView | None
    reason: str | None


@dataclass(frozen=True)
class ActionView:
    key: str
    title: str
    closes: str | None
    requires_record: bool
    requires_outcome: bool


@dataclass(frozen=True)
class CaseView:
    id: int
    reference: str
    workflow: WorkflowRef
    definition: Definition
    state: str
    closed: bool
    child_ref: str
    child_initials: str | None
    category: str
    summary: str | None
    raised_by: PersonView
    raised_at: datetime
    agencies: list[AgencyView]
    urgent: bool
    immediate_risk: RiskView
    parties: list[PersonView]
    step: StepView | None
    outcome: OutcomeView | None
    learning: LearningView | None
    version: int
    access: rules.CaseAccess
    closing: ClosingView | None = None
    steps: list[StepView] = field(default_factory=list)
    records: list[RecordView] = field(default_factory=list)
    actions: list[ActionView] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)  # its history, when asked for
    names: dict[str, str] = field(default_factory=dict)  # everyone the history names, by e-mail

    @property
    def on_urgent_clock(self) -> bool:
        """Whether the case runs on the urgent route's clock (a closed one: where it closed)."""
        level = (self.outcome.level if self.outcome else None) or self.state
        return status.is_urgent(self.definition, level, self.urgent)

    @property
    def raising_agency(self) -> str:
        return next((a.name for a in self.agencies if a.raising), "")


def step_view(step: Step, definition: Definition, urgent: bool, now: datetime) -> StepView:
    """Return one step as the doors show it, its status from the domain."""
    basis = status.timescale_for(definition, step.level, urgent)
    agreed = step.timescale_status == status.AGREED
    declined = step.timescale_status == status.DECLINED
    standing = status.step_status(
        due_at=step.due_at,
        warn_at=step.warn_at,
        ended_at=step.ended_at,
        now=now,
        flagged=step.went_overdue or step.overdue_at is not None,
    )
    return StepView(
        number=step.number,
        stage=step.level,
        title=definition.level(step.level).title,
        started_at=step.started_at,
        due_at=step.due_at,
        warn_at=step.warn_at,
        ended_at=step.ended_at,
        timescale=TimescaleView(
            status=step.timescale_status,
            default=str(basis.timescale),
            basis=basis,
            agreed_by=(
                [PersonView.of(step.agreed_proposer), PersonView.of(step.agreed_by)]
                if agreed and step.agreed_proposer and step.agreed_by
                else []
            ),
            reason=(
                step.agreed_reason
                if agreed
                else step.declined_reason
                if declined
                else step.proposed_reason
            ),
            proposed_due_at=step.proposed_due_at,
            proposed_by=PersonView.of(step.proposed_by) if step.proposed_by else None,
            declined_by=_person(step.declined_by) if declined else None,
            declined_at=step.declined_at if declined else None,
        ),
        overdue=standing.overdue,
        due_soon=standing.due_soon,
        went_overdue=standing.went_overdue,
        urgent=basis.why == status.URGENT,
    )


def _person(user: User | None) -> PersonView | None:
    return PersonView.of(user) if user is not None else None


def record_view(record: Record, now: datetime) -> RecordView:
    due, done, withdrawn = record.action_due_at, record.action_done_at, record.action_withdrawn_at
    return RecordView(
        id=record.id,
        kind=record.kind,
        text=record.text,
        author=PersonView.of(record.author),
        at=record.at,
        step=record.step_number,
        action_due=due,
        corrects=record.corrects_id,
        acknowledged_by=[
            ReaderView(**vars(PersonView.of(a.user)), at=a.at) for a in record.acknowledgements
        ],
        done_at=done,
        done_by=_person(record.action_done_by) if done else None,
        done_note=record.action_done_note,
        withdrawn_at=withdrawn,
        withdrawn_by=_person(record.action_withdrawn_by) if withdrawn else None,
        withdrawn_reason=record.action_withdrawn_reason,
        overdue=due is not None
        and status.action_overdue(due_at=due, done_at=done, withdrawn_at=withdrawn, now=now),
    )


def closing_view(case: Case, definition: Definition) -> ClosingView | None:
    """Return the closing proposed (or declined) at the case's current level, if any."""
    if case.closed or case.closing_status is None or case.closing_by is None:
        return None
    action = definition.action(case.closing_action or "")
    assert action is not None and action.closes is not None and case.closing_at is not None
    return ClosingView(
        action=action.key,
        title=action.title,
        outcome_kind=action.closes,
        outcome_text=(case.closing_outcome or {}).get("outcome"),
        proposed_by=PersonView.of(case.closing_by),
        proposed_at=case.closing_at,
        status=case.closing_status,
        declined_by=_person(case.closing_answered_by),
        reason=case.closing_reason,
    )


def actions_for(
    workflows: Workflows, user: User, definition: Definition, access: rules.CaseAccess
) -> list[ActionView]:
    """Return the actions this user may take now on a case of this definition."""
    if access.closed:
        return []
    machine = workflows.machine(definition.key, definition.version)
    actor = actor_of(user)
    found = (definition.action(key) for key in machine.available(access.state))
    return [
        ActionView(a.key, a.title, a.closes, a.requires_record, a.requires_outcome)
        for a in found
        if a is not None and rules.may_take(actor, access, definition, a)
    ]


def case_view(
    case: Case, workflows: Workflows, now: datetime, *, user: User | None = None, whole: bool
) -> CaseView:
    """Return a case as the doors show it: `whole` with every step and record, and with
    the actions `user` may take; otherwise its summary."""
    definition = workflows.definition(case.workflow_key, case.workflow_version)
    access = access_of(case)
    steps = [step_view(s, definition, case.urgent, now) for s in case.steps]
    current = steps[-1] if steps and not case.closed and steps[-1].ended_at is None else None
    return CaseView(
        id=case.id,
        reference=case.reference,
        workflow=WorkflowRef(case.workflow_key, case.workflow_version, definition.title),
        definition=definition,
        state=case.state,
        closed=case.closed,
        child_ref=case.child_ref,
        child_initials=case.child_initials,
        category=case.category,
        summary=case.summary,
        raised_by=PersonView.of(case.raised_by),
        raised_at=case.raised_at,
        agencies=[AgencyView(a.agency.code, a.agency.name, a.raising) for a in case.agencies],
        urgent=case.urgent,
        immediate_risk=RiskView(bool(case.referral_made), case.referred_to, case.referral_at),
        parties=[PersonView.of(p.user) for p in case.parties],
        step=current,
        outcome=(
            OutcomeView(case.outcome_kind, case.outcome_level, case.outcome_text, case.closed_at)
            if case.closed
            else None
        ),
        learning=(
            LearningView(case.learning_text, sorted(t.theme for t in case.themes))
            if case.closed
            else None
        ),
        version=case.version,
        access=access,
        closing=closing_view(case, definition),
        steps=steps if whole else [],
        records=[record_view(r, now) for r in case.records] if whole else [],
        actions=actions_for(workflows, user, definition, access) if whole and user else [],
    )
