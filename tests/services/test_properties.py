"""Random users take random actions on random cases; the invariants hold after every step."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from resolution.context import service_context, workflows
from resolution.extensions import db
from resolution.models import Acknowledgement, AuditEvent, Case, Outbox, Record, Step
from resolution.services import cases, history, integrity, timescales
from resolution.services.errors import ServiceError
from tests import factories
from tests.conftest import MONDAY, empty_tables

USERS = [
    "csc_practitioner",
    "csc_practitioner2",
    "health_practitioner",
    "police_practitioner",
    "csc_manager",
    "health_manager",
    "police_manager",
    "csc_lead",
    "health_lead",
    "police_lead",
    "partnership",
    "auditor",
    "admin",
]
ACTIONS = ["escalate", "resolve", "withdraw", "refer", "uphold", "reconvene", "teleport"]
TABLES = (Case, Step, Record, Acknowledgement, AuditEvent, Outbox)


def table_counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES)


class CaseLife(RuleBasedStateMachine):
    app = None  # set by the test

    @initialize()
    def start(self) -> None:
        empty_tables(self.app)
        db.session.remove()
        self.now = MONDAY
        self.world = factories.make_world(self.now)
        self.case_ids: list[int] = []
        self.closed: dict[int, tuple[int, str, int]] = {}

    def attempt(self, call, may_repeat: bool = False) -> None:
        """Run one service call; an accepted one writes exactly one event, a refused one nothing."""
        before = table_counts()
        try:
            call(service_context(self.now))
        except ServiceError:
            db.session.rollback()
            assert table_counts() == before, "a refused call changed something"
            return
        events = before[TABLES.index(AuditEvent)]
        after = table_counts()[TABLES.index(AuditEvent)]
        if may_repeat and after == events:  # acknowledging twice changes nothing
            assert table_counts() == before
        else:
            assert after - events == 1, "an accepted change must write exactly one history event"

    @rule(
        by=st.sampled_from(USERS),
        other=st.sampled_from(["CSC", "HEALTH", "POLICE"]),
        workflow=st.sampled_from(["leeds-pcrp", "hours-escalation", "cp-conference-dissent"]),
        urgent=st.booleans(),
    )
    def raise_case(self, by: str, other: str, workflow: str, urgent: bool) -> None:
        risk = (
            cases.ImmediateRisk(True, "Front door", self.now - timedelta(minutes=5))
            if urgent
            else None
        )

        def call(ctx):
            case = cases.raise_case(
                db.session(),
                ctx,
                self.world[by].id,
                child_ref="CS-42",
                category="other",
                summary="s",
                with_agencies=[other],
                workflow=workflow,
                immediate_risk=risk,
            )
            self.case_ids.append(case.id)

        self.attempt(call)

    @precondition(lambda self: self.case_ids)
    @rule(
        data=st.data(),
        by=st.sampled_from(USERS),
        kind=st.sampled_from(["discussion", "note", "action"]),
    )
    def add_record(self, data: st.DataObject, by: str, kind: str) -> None:
        case_id = data.draw(st.sampled_from(self.case_ids))
        due = self.now + timedelta(days=2) if kind == "action" else None
        self.attempt(
            lambda ctx: cases.add_record(
                db.session(), ctx, self.world[by].id, case_id, kind=kind, text="t", action_due=due
            )
        )

    @precondition(lambda self: self.case_ids)
    @rule(data=st.data(), by=st.sampled_from(USERS))
    def acknowledge(self, data: st.DataObject, by: str) -> None:
        record_ids = list(db.session.scalars(select(Record.id)))
        if record_ids:
            record_id = data.draw(st.sampled_from(record_ids))
            self.attempt(
                lambda ctx: cases.acknowledge(db.session(), ctx, self.world[by].id, record_id),
                may_repeat=True,
            )

    @precondition(lambda self: self.case_ids)
    @rule(data=st.data(), by=st.sampled_from(USERS), days=st.integers(-1, 20))
    def propose(self, data: st.DataObject, by: str, days: int) -> None:
        case_id = data.draw(st.sampled_from(self.case_ids))
        due = self.now + timedelta(days=days, hours=1)
        self.attempt(
            lambda ctx: timescales.propose_timescale(
                db.session(), ctx, self.world[by].id, case_id, due_at=due, reason="r"
            )
        )

    @precondition(lambda self: self.case_ids)
    @rule(data=st.data(), by=st.sampled_from(USERS))
    def accept(self, data: st.DataObject, by: str) -> None:
        case_id = data.draw(st.sampled_from(self.case_ids))
        self.attempt(
            lambda ctx: timescales.accept_timescale(db.session(), ctx, self.world[by].id, case_id)
        )

    @precondition(lambda self: self.case_ids)
    @rule(
        data=st.data(),
        by=st.sampled_from(USERS),
        action=st.sampled_from(ACTIONS),
        stale=st.booleans(),
        with_record=st.booleans(),
        with_outcome=st.booleans(),
    )
    def act(
        self,
        data: st.DataObject,
        by: str,
        action: str,
        stale: bool,
        with_record: bool,
        with_outcome: bool,
    ) -> None:
        case_id = data.draw(st.sampled_from(self.case_ids))
        version = db.session.get(Case, case_id).version - (1 if stale else 0)
        self.attempt(
            lambda ctx: cases.take_action(
                db.session(),
                ctx,
                self.world[by].id,
                case_id,
                action,
                record="because" if with_record else None,
                expected_version=version,
                outcome={"text": "done"} if with_outcome else None,
            )
        )

    @rule(hours=st.integers(1, 72))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @invariant()
    def states_are_known_and_steps_consistent(self) -> None:
        if not hasattr(self, "world"):
            return
        db.session.expire_all()
        for case in db.session.scalars(select(Case)):
            definition = workflows().definition(case.workflow_key, case.workflow_version)
            assert case.state in definition.states
            open_steps = [s for s in case.steps if s.ended_at is None]
            if case.closed:
                assert not open_steps and case.outcome_kind == case.state
                snapshot = (case.version, case.state, len(case.steps))
                assert self.closed.setdefault(case.id, snapshot) == snapshot, (
                    "a closed case changed"
                )
            else:
                assert len(open_steps) == 1 and open_steps[0].due_at is not None
                assert open_steps[0].level == case.state

    @invariant()
    def every_agency_holds_the_current_clock(self) -> None:
        if hasattr(self, "world"):
            assert integrity.check_cases(db.session(), service_context()) is None

    @invariant()
    def chain_verifies(self) -> None:
        if hasattr(self, "world"):
            assert history.verify_chain(db.session(), service_context()).ok


def test_random_users_taking_random_actions_keep_every_invariant(app) -> None:
    CaseLife.app = app
    run = CaseLife.TestCase
    run.settings = settings(
        max_examples=25,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    run().runTest()
