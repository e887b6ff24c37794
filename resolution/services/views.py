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
    steps: list[StepView] = field(default_factory=list)
    records: list[RecordView] = field(default_factory=list)
    actions: list[ActionView] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)  # its history, when asked for

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
            reason=step.agreed_reason if agreed else step.proposed_reason,
            proposed_due_at=step.proposed_due_at,
            proposed_by=PersonView.of(step.proposed_by) if step.proposed_by else None,
        ),
        overdue=standing.overdue,
        due_soon=standing.due_soon,
        went_overdue=standing.went_overdue,
        urgent=basis.why == status.URGENT,
    )


def record_view(record: Record) -> RecordView:
    return RecordView(
        id=record.id,
        kind=record.kind,
        text=record.text,
        author=PersonView.of(record.author),
        at=record.at,
        step=record.step_number,
        action_due=record.action_due_at,
        corrects=record.corrects_id,
        acknowledged_by=[
            ReaderView(**vars(PersonView.of(a.user)), at=a.at) for a in record.acknowledgements
        ],
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
        steps=steps if whole else [],
        records=[record_view(r) for r in case.records] if whole else [],
        actions=actions_for(workflows, user, definition, access) if whole and user else [],
    )
