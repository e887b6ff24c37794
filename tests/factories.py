"""Test factories that build whatever parents they need, with keyword defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Case, User
from resolution.services import accounts, cases

PASSWORD = "correct horse battery staple"
AGENCIES = {
    "CSC": "Children's Social Care",
    "HEALTH": "Community Health",
    "POLICE": "Police",
    "PART": "Safeguarding Partnership",
}


@dataclass
class World:
    """Users by a short name such as 'csc_practitioner' or 'auditor'."""

    users: dict[str, User] = field(default_factory=dict)

    def __getitem__(self, name: str) -> User:
        return self.users[name]


def make_user(
    name: str, agency: str, role: str, now: datetime, password: str | None = None
) -> User:
    """Make a user; without a password (hashing is slow on purpose) unless one is given."""
    return accounts.create_user(
        db.session(),
        service_context(now),
        email=f"{name}@example.org",
        name=name.replace("_", " ").title(),
        agency=agency,
        role=role,
        password=password,
    )


def make_world(now: datetime) -> World:
    world = World()
    for code, title in AGENCIES.items():
        accounts.create_agency(db.session(), service_context(now), code, title)
    for code in ("CSC", "HEALTH", "POLICE"):
        for role in ("practitioner", "manager", "lead"):
            key = f"{code.lower()}_{role}"
            world.users[key] = make_user(key, code, role, now)
    world.users["csc_practitioner2"] = make_user("csc_practitioner2", "CSC", "practitioner", now)
    world.users["partnership"] = make_user("partnership", "PART", "partnership", now)
    world.users["auditor"] = make_user("auditor", "PART", "auditor", now)
    world.users["admin"] = make_user("admin", "PART", "admin", now)
    return world


def make_case(
    world: World,
    now: datetime,
    *,
    by: str = "csc_practitioner",
    with_agencies: tuple[str, ...] = ("HEALTH",),
    with_people: tuple[str, ...] = ("health_practitioner",),
    workflow: str | None = None,
    category: str = "threshold",
    summary: str = "Health think the referral meets the threshold for a child and family assessment; CSC do not.",
    child_ref: str = "CS-123456",
    immediate_risk: cases.ImmediateRisk | None = None,
) -> Case:
    return cases.raise_case(
        db.session(),
        service_context(now),
        world[by].id,
        child_ref=child_ref,
        category=category,
        summary=summary,
        with_agencies=list(with_agencies),
        with_people=[world[p].email for p in with_people],
        workflow=workflow,
        immediate_risk=immediate_risk,
    )


def escalate(
    world: World, now: datetime, case: Case, *, by: str = "csc_practitioner", record: str = "Up."
) -> Case:
    """Take a case up one level, as `by`, at `now`."""
    return cases.take_action(
        db.session(),
        service_context(now),
        world[by].id,
        case.id,
        "escalate",
        record=record,
        expected_version=case.version,
    )


def resolve(world: World, now: datetime, case: Case, *, by: str = "csc_practitioner") -> Case:
    """Close a case as resolved at its current level, as `by`, at `now` (confirmed by the
    other side when the definition asks for agreement)."""
    cases.take_action(
        db.session(),
        service_context(now),
        world[by].id,
        case.id,
        "resolve",
        record="Agreed.",
        expected_version=db.session.get(Case, case.id).version,
        outcome={"text": "A plan."},
    )
    return agree(now, case.id)


def working_day(moment: datetime, days: int = 0) -> datetime:
    """Return the end of the working day `days` calendar days after `moment`, moved on to the
    next working day of the Leeds calendar when it falls on a weekend or a bank holiday."""
    from datetime import timedelta

    from resolution.domain.calendar import next_working_day, to_local

    cal = service_context(moment).workflows.registry.latest("leeds-pcrp").calendar
    day = next_working_day(to_local(moment + timedelta(days=days), cal).date(), cal)
    return datetime.combine(day, cal.end_of_day, tzinfo=cal.timezone)


def closed_day(moment: datetime) -> datetime:
    """Return the end of the first Sunday after `moment`, a day the Leeds calendar is closed."""
    from datetime import timedelta

    from resolution.domain.calendar import to_local

    cal = service_context(moment).workflows.registry.latest("leeds-pcrp").calendar
    local = to_local(moment, cal).date()
    day = local + timedelta(days=(6 - local.weekday()) or 7)
    return datetime.combine(day, cal.end_of_day, tzinfo=cal.timezone)


def agree(now: datetime, case_id: int) -> Case:
    """Confirm the closing proposed on a case, if one waits, as the first user the domain lets
    answer it (a party of another agency involved); return the case."""
    from sqlalchemy import select

    from resolution.domain import rules
    from resolution.services import closing
    from resolution.services.loading import access_of, actor_of

    case = db.session.get(Case, case_id)
    assert case is not None
    db.session.refresh(case)
    if case.closing_status != "proposed":
        return case
    ctx = service_context(now)
    definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
    access = access_of(case)
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    who = next(u for u in users if rules.may_answer_closing(actor_of(u), access, definition))
    return closing.confirm_closing(db.session(), ctx, who.id, case_id)
