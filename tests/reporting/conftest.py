"""A fixture of closed cases covering every outcome and every level, built through the services.

All times are March 2026 in London (GMT, before the clocks change on the 29th):

- A: Mon 2 09:00, CSC with HEALTH; resolved at level 1 on Wed 4 09:00; neglect, supervision.
- B: Mon 2 10:00, CSC with HEALTH and POLICE; escalated late on Tue 10 10:00, resolved at
  level 2 on Thu 12 10:00; information_sharing.
- C: Tue 3 09:00, HEALTH with CSC; withdrawn at level 1 by the raiser on Fri 6 09:00.
- D: Wed 4 09:00, POLICE with CSC, urgent: starts at level 3 (24 hours), referred late on
  Fri 6 09:00; neglect.
- E: Thu 5 09:00, CSC with HEALTH; up every level (Fri 6, Mon 9, Tue 10), resolved late at
  level 4 on Thu 19 09:00; multi_agency_working, neglect.
- F: Mon 9 09:00, CSC with POLICE; still open at level 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Case
from resolution.services import cases
from tests import factories


def at(day: int, hour: int = 9) -> datetime:
    """Return a March 2026 instant (London is on GMT all month until the 29th)."""
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


@dataclass
class Fixture:
    world: factories.World
    refs: dict[str, str]
    ids: dict[str, int]


def act(
    world: factories.World, who: str, case: Case | int, action: str, when: datetime, **extra: object
) -> None:
    case_id = case if isinstance(case, int) else case.id
    outcome = extra.pop(
        "outcome", {"text": f"{action} at {when:%d %b}"} if action != "escalate" else None
    )
    cases.take_action(
        db.session(),
        service_context(when),
        world[who].id,
        case_id,
        action,
        record=f"{who} records why: {action}",
        expected_version=None,
        outcome=outcome,  # type: ignore[arg-type]
        learning=extra.pop("learning", None),  # type: ignore[arg-type]
    )
    factories.agree(when, case_id)


@pytest.fixture
def closed_cases(world: factories.World) -> Fixture:
    """Build cases A to F of the table above."""
    make = factories.make_case
    a = make(world, at(2), category="threshold")
    b = make(
        world,
        at(2, 10),
        category="information_sharing",
        with_agencies=("HEALTH", "POLICE"),
        with_people=("health_practitioner", "police_practitioner"),
    )
    c = make(
        world,
        at(3),
        by="health_practitioner",
        with_agencies=("CSC",),
        with_people=("csc_practitioner",),
        category="roles",
    )
    d = make(
        world,
        at(4),
        by="police_practitioner",
        with_agencies=("CSC",),
        with_people=("csc_practitioner",),
        category="cp_medical",
        immediate_risk=cases.ImmediateRisk(True, "Children's social work front door", at(4)),
    )
    e = make(world, at(5), category="threshold")
    f = make(
        world,
        at(9),
        category="meetings",
        with_agencies=("POLICE",),
        with_people=("police_practitioner",),
    )

    act(
        world,
        "csc_practitioner",
        a.id,
        "resolve",
        at(4),
        learning={"text": "Curiosity about the home", "themes": ["neglect", "supervision"]},
    )
    act(world, "csc_practitioner", b.id, "escalate", at(10, 10))
    act(
        world,
        "csc_manager",
        b.id,
        "resolve",
        at(12, 10),
        learning={"text": "Share the chronology", "themes": ["information_sharing"]},
    )
    act(world, "health_practitioner", c.id, "withdraw", at(6))
    act(
        world,
        "police_lead",
        d.id,
        "refer",
        at(6),
        outcome={"text": "Refer to a strategy discussion", "referred_to": "strategy discussion"},
        learning={"text": "Medicals", "themes": ["neglect"]},
    )
    act(world, "csc_practitioner", e.id, "escalate", at(6))
    act(world, "csc_manager", e.id, "escalate", at(9))
    act(world, "csc_lead", e.id, "escalate", at(10))
    act(
        world,
        "partnership",
        e.id,
        "resolve",
        at(19),
        learning={"text": "Panel", "themes": ["neglect", "multi_agency_working"]},
    )
    made = {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f}
    return Fixture(
        world, {k: v.reference for k, v in made.items()}, {k: v.id for k, v in made.items()}
    )
