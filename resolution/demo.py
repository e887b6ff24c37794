"""Demonstration data: agencies, one user of each role, and cases in every state.

Cases are played through the real services at times in the past, so that the
history, the deadlines and the overdue flags are what real use would give.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from .domain.calendar import next_working_day, to_local
from .extensions import db
from .models import Agency, User
from .services import accounts, action_items, cases, closing, mailer, timescales
from .services.core import Context
from .services.sweep import sweep

AGENCIES = [
    ("CSC", "Children's Social Work Service"),
    ("HEALTH", "Community Health Services"),
    ("POLICE", "West Yorkshire Police"),
    ("SCHOOLS", "Schools and Early Years"),
    ("PARTNERSHIP", "Safeguarding Children Partnership"),
]

# Told of their cases when nobody there is named (the police have no user in the demo).
CONTACTS = {
    "POLICE": "safeguarding.unit@police.example",
    "SCHOOLS": "safeguarding@schools.example",
}

USERS = [
    ("sam.practitioner@csc.example", "Sam Okafor", "CSC", "practitioner"),
    ("priya.practitioner@health.example", "Priya Shah", "HEALTH", "practitioner"),
    ("tom.practitioner@schools.example", "Tom Walsh", "SCHOOLS", "practitioner"),
    ("maria.manager@csc.example", "Maria Novak", "CSC", "manager"),
    ("gareth.manager@health.example", "Gareth Evans", "HEALTH", "manager"),
    ("aisha.lead@csc.example", "Aisha Rahman", "CSC", "lead"),
    ("david.lead@health.example", "David Chen", "HEALTH", "lead"),
    ("helen.partnership@partnership.example", "Helen Price", "PARTNERSHIP", "partnership"),
    ("olu.auditor@partnership.example", "Olu Adeyemi", "PARTNERSHIP", "auditor"),
    ("admin@partnership.example", "Service Administrator", "PARTNERSHIP", "admin"),
]

SUMMARIES = {
    "threshold": "Health consider that the referral meets the threshold for a child and family assessment; "
    "the front door decided on early help.",
    "information_sharing": "School has not received the outcome of the strategy discussion despite two requests.",
    "cp_medical": "Disagreement about whether a child protection medical is needed after an unexplained bruise.",
    "services_plan": "The plan gives health actions that health say were never agreed at the meeting.",
    "meetings": "Police were not invited to the core group meeting.",
    "roles": "Unclear which agency is lead professional now the family has moved.",
}


def _password() -> str:
    return secrets.token_urlsafe(12)


def load_demo(ctx: Context) -> dict[str, str]:
    """Load (or refresh the passwords of) the demo data; return e-mail -> password."""
    passwords: dict[str, str] = {}
    existing = db.session.scalar(select(Agency.id).where(Agency.code == "CSC"))
    if existing is None:
        for code, name in AGENCIES:
            accounts.create_agency(
                db.session(), ctx, code, name, actor="demo", contact_email=CONTACTS.get(code)
            )
        for email, name, agency, role in USERS:
            passwords[email] = _password()
            accounts.create_user(
                db.session(),
                ctx,
                email=email,
                name=name,
                agency=agency,
                role=role,
                password=passwords[email],
                actor="demo",
            )
        _cases(ctx)
        # The cases' past is played out now: flag what is already late, then send nobody
        # mail about any of it (what people do in the demonstration is mailed as usual).
        sweep(db.session(), ctx)
        mailer.discard_unsent(db.session(), ctx.now)
    else:
        for email, *_ in USERS:
            if db.session.scalar(select(User.id).where(User.email == email)):
                passwords[email] = _password()
                accounts.set_password(db.session(), ctx, email, passwords[email], actor="demo")
    return passwords


def _user(email: str) -> int:
    user_id = db.session.scalar(select(User.id).where(User.email == email))
    assert user_id is not None
    return user_id


def _cases(ctx: Context) -> None:
    """Play cases through the services so that every state has an example."""
    sam, priya, tom = (_user(e) for e in (USERS[0][0], USERS[1][0], USERS[2][0]))
    maria, gareth = _user(USERS[3][0]), _user(USERS[4][0])
    aisha, david = _user(USERS[5][0]), _user(USERS[6][0])
    start = ctx.now - timedelta(days=40)

    def at(days: float) -> Context:
        return Context(
            workflows=ctx.workflows, now=start + timedelta(days=days), base_url=ctx.base_url
        )

    def raise_(
        days: float,
        by: int,
        category: str,
        agencies: list[str],
        people: list[str],
        ref: str,
        *,
        workflow: str | None = None,
        immediate_risk: cases.ImmediateRisk | None = None,
    ) -> int:
        case = cases.raise_case(
            db.session(),
            at(days),
            by,
            child_ref=ref,
            category=category,
            summary=SUMMARIES[category],
            with_agencies=agencies,
            with_people=people,
            workflow=workflow,
            immediate_risk=immediate_risk,
        )
        return case.id

    def working(moment: datetime) -> datetime:
        """Return the end of the first working day on or after `moment` (a proposed due date)."""
        cal = ctx.workflows.registry.latest("leeds-pcrp").calendar
        day = next_working_day(to_local(moment, cal).date(), cal)
        return datetime.combine(day, cal.end_of_day, tzinfo=cal.timezone)

    def version(case_id: int) -> int:
        from .models import Case

        case = db.session.get(Case, case_id)
        assert case is not None
        return case.version

    priya_email, tom_email = USERS[1][0], USERS[2][0]

    # 1. Resolved at level 1 after an agreed timescale; CSC proposed it, Health confirmed.
    c1 = raise_(0, sam, "threshold", ["HEALTH"], [priya_email], "CS-204518")
    cases.add_record(
        db.session(),
        at(0.1),
        priya,
        c1,
        kind="discussion",
        text="Spoke by phone. Health will send the health visitor's chronology.",
    )
    timescales.propose_timescale(
        db.session(),
        at(0.2),
        sam,
        c1,
        due_at=working(at(6).now),
        reason="Waiting for the chronology",
    )
    timescales.accept_timescale(db.session(), at(0.3), priya, c1)
    cases.take_action(
        db.session(),
        at(3),
        sam,
        c1,
        "resolve",
        record="Chronology read; assessment agreed.",
        expected_version=version(c1),
        outcome={"text": "CSC will open a child and family assessment."},
        learning={
            "text": "Share chronologies at the point of referral.",
            "themes": ["information_sharing", "thresholds"],
        },
    )
    closing.confirm_closing(db.session(), at(3.2), priya, c1)  # Health agrees: it closes

    # 2. Escalated to managers, then resolved there.
    c2 = raise_(2, priya, "cp_medical", ["CSC"], [USERS[0][0]], "CS-311204")
    cases.add_record(
        db.session(),
        at(2.2),
        sam,
        c2,
        kind="discussion",
        text="Discussed; CSC do not think a medical is needed.",
    )
    cases.take_action(
        db.session(),
        at(4),
        priya,
        c2,
        "escalate",
        record="Still disagree: escalating to managers.",
        expected_version=version(c2),
    )
    cases.take_action(
        db.session(),
        at(6),
        gareth,
        c2,
        "resolve",
        record="Managers agreed a medical within 24 hours.",
        expected_version=version(c2),
        outcome={"text": "Medical arranged."},
        learning={"text": "Consult the paediatrician early.", "themes": ["professional_curiosity"]},
    )
    closing.confirm_closing(db.session(), at(6.1), maria, c2)

    # 3. Withdrawn by the raiser.
    c3 = raise_(5, tom, "meetings", ["POLICE"], [], "ED-88213")
    cases.take_action(
        db.session(),
        at(6),
        tom,
        c3,
        "withdraw",
        record="Invitation has now arrived.",
        expected_version=version(c3),
        outcome={"text": "Police were invited after all."},
    )

    # 4. At the designated leads, overdue.
    c4 = raise_(10, sam, "services_plan", ["HEALTH"], [priya_email], "CS-402117")
    cases.add_record(
        db.session(),
        at(10.5),
        priya,
        c4,
        kind="action",
        text="Health to check the meeting notes.",
        action_due=at(13).now,
    )
    cases.take_action(
        db.session(),
        at(14),
        sam,
        c4,
        "escalate",
        record="No agreement at level 1.",
        expected_version=version(c4),
    )
    cases.take_action(
        db.session(),
        at(18),
        maria,
        c4,
        "escalate",
        record="Managers could not agree.",
        expected_version=version(c4),
    )

    # 5. With the partnership.
    c5 = raise_(12, priya, "roles", ["CSC", "SCHOOLS"], [USERS[0][0], tom_email], "CS-509981")
    cases.take_action(
        db.session(),
        at(13),
        priya,
        c5,
        "escalate",
        record="Escalating.",
        expected_version=version(c5),
    )
    cases.take_action(
        db.session(),
        at(15),
        gareth,
        c5,
        "escalate",
        record="Escalating to leads.",
        expected_version=version(c5),
    )
    cases.take_action(
        db.session(),
        at(20),
        david,
        c5,
        "escalate",
        record="Leads could not agree: to the partnership.",
        expected_version=version(c5),
    )

    # 6. Urgent route, started at the leads on a 24-hour clock, referred on.
    c6 = raise_(
        25,
        sam,
        "threshold",
        ["HEALTH"],
        [],
        "CS-611002",
        immediate_risk=cases.ImmediateRisk(
            referral_made=True, referred_to="Emergency Duty Team", at=at(24.9).now
        ),
    )
    cases.take_action(
        db.session(),
        at(25.5),
        aisha,
        c6,
        "refer",
        record="Referred to the partnership's rapid review.",
        expected_version=version(c6),
        outcome={"text": "Rapid review", "referred_to": "Rapid review panel"},
    )
    closing.confirm_closing(db.session(), at(25.6), david, c6)

    # 7. Open at level 1 with a proposed timescale waiting for the other agency.
    c7 = raise_(39, sam, "information_sharing", ["SCHOOLS"], [tom_email], "CS-700345")
    timescales.propose_timescale(
        db.session(),
        at(39.1),
        sam,
        c7,
        due_at=working(ctx.now + timedelta(days=5)),
        reason="School is closed until Monday",
    )

    # 8. Open at managers, due soon.
    c8 = raise_(33, priya, "threshold", ["CSC"], [USERS[0][0]], "CS-801276")
    cases.take_action(
        db.session(),
        at(39.5),
        priya,
        c8,
        "escalate",
        record="Escalating to managers.",
        expected_version=version(c8),
    )
    cases.add_record(
        db.session(), at(39.6), maria, c8, kind="note", text="I will call Gareth tomorrow morning."
    )

    # 9. Dissent about a conference decision.
    raise_(38, david, "cp_medical", ["CSC"], [], "CP-2026-014", workflow="cp-conference-dissent")

    # 10. At level 1: an agreed action done, then Health proposes that it is resolved; it waits
    # for CSC to confirm or decline.
    c10 = raise_(38.5, priya, "services_plan", ["CSC"], [USERS[0][0]], "CS-1002231")
    agreed = cases.add_record(
        db.session(),
        at(38.6),
        sam,
        c10,
        kind="action",
        text="CSC to share the updated plan with health.",
        action_due=working(at(39).now),
    )
    action_items.mark_done(db.session(), at(38.8), sam, agreed.id, note="Shared by e-mail.")
    cases.take_action(
        db.session(),
        at(39.2),
        priya,
        c10,
        "resolve",
        record="The updated plan answers Health's concern.",
        expected_version=version(c10),
        outcome={"text": "The plan now names who does each health action."},
    )
