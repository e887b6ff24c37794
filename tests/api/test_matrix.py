"""Who may do what: every kind of user against every endpoint, as one explicit table.

Each cell starts from a fresh case raised by the CSC practitioner with the Health
practitioner named as a party, so a write in one cell cannot change another. The
table is written out by hand: if any cell changes, the test fails and names it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from werkzeug.test import TestResponse

from resolution.context import real_now
from resolution.extensions import db
from resolution.services import cases, timescales
from resolution.services.core import Context

from .. import factories
from .conftest import Api, new_case, row_counts

# Who, and why they are in the table.
USERS = {
    "raiser": "csc_practitioner",  # raised the case
    "party": "health_practitioner",  # named party, other agency
    "colleague": "csc_practitioner2",  # same agency as the raiser, not a party
    "outsider": "police_practitioner",  # agency not involved
    "manager": "csc_manager",  # manager of an involved agency
    "lead": "health_lead",  # lead of an involved agency
    "other manager": "police_manager",  # manager of an agency not involved
    "other lead": "police_lead",  # lead of an agency not involved
    "partnership": "partnership",
    "auditor": "auditor",
    "admin": "admin",
}

ENDPOINTS = (
    "GET /workflows",
    "POST /cases",
    "GET /cases (sees it)",
    "GET /cases/{id}",
    "GET /cases/{id}/history",
    "POST /cases/{id}/records",
    "POST /records/{id}/acknowledge",
    "POST /cases/{id}/timescale",
    "POST /cases/{id}/timescale/accept",
    "POST /cases/{id}/actions/escalate",
    "POST /cases/{id}/actions/withdraw",
    "GET /outcomes",
    "GET /audit/events",
    "GET /audit/verify",
    "GET /openapi.json",
)

# One row per user, one column per endpoint, in the order above. Withdrawing is for the side
# that raised the case (leeds-pcrp version 2): the party of the other agency cannot.
# "GET /cases (sees it)" is 1 when the case is in the user's list, 0 when not.
EXPECTED = {
    #                 wf   raise list get  hist rec  ack  ts   acc  esc  wdr  out  evts vrfy spec
    "raiser":        (200, 201, 1,   200, 200, 201, 200, 200, 200, 200, 200, 403, 403, 403, 200),
    "party":         (200, 201, 1,   200, 200, 201, 200, 200, 403, 200, 403, 403, 403, 403, 200),
    "colleague":     (200, 201, 0,   404, 404, 404, 404, 404, 404, 404, 404, 403, 403, 403, 200),
    "outsider":      (200, 201, 0,   404, 404, 404, 404, 404, 404, 404, 404, 403, 403, 403, 200),
    "manager":       (200, 201, 1,   200, 200, 403, 403, 403, 403, 200, 403, 403, 403, 403, 200),
    "lead":          (200, 201, 1,   200, 200, 403, 403, 403, 403, 200, 403, 403, 403, 403, 200),
    "other manager": (200, 201, 0,   404, 404, 404, 404, 404, 404, 404, 404, 403, 403, 403, 200),
    "other lead":    (200, 201, 0,   404, 404, 404, 404, 404, 404, 404, 404, 403, 403, 403, 200),
    "partnership":   (200, 403, 1,   200, 200, 403, 403, 403, 403, 403, 403, 200, 200, 200, 200),
    "auditor":       (200, 403, 1,   200, 200, 403, 403, 403, 403, 403, 403, 200, 200, 200, 200),
    "admin":         (200, 403, 0,   404, 404, 404, 404, 404, 404, 404, 404, 403, 403, 403, 200),
}  # fmt: skip

RAISE = {
    "child_ref": "CS-424242",
    "category": "threshold",
    "summary": "Whether the threshold for an assessment is met.",
}


def _fresh(world: factories.World, now: datetime, ctx: Context) -> dict[str, int]:
    """Raise a case with a record by the raiser and a timescale proposed by the party."""
    case = new_case(world, now)
    record = cases.add_record(
        db.session(), ctx, world["csc_practitioner"].id, case.id, kind="note", text="N."
    )
    timescales.propose_timescale(
        db.session(),
        ctx,
        world["health_practitioner"].id,
        case.id,
        due_at=factories.working_day(real_now(), 14),
        reason="Leave.",
    )
    fresh = db.session.get(type(case), case.id)
    return {"case": case.id, "record": record.id, "version": fresh.version}


def _cell(api: Api, who: str, endpoint: str, ids: dict[str, int]) -> int:
    case, record = ids["case"], ids["record"]
    match = {"If-Match": f'"{ids["version"]}"'}
    due = factories.working_day(real_now(), 10).isoformat()
    other = "HEALTH" if who.startswith("csc") else "CSC"
    calls: dict[str, Callable[[], TestResponse]] = {
        "GET /workflows": lambda: api.get("/workflows", who),
        "POST /cases": lambda: api.post("/cases", who, {**RAISE, "with_agencies": [other]}),
        "GET /cases/{id}": lambda: api.get(f"/cases/{case}", who),
        "GET /cases/{id}/history": lambda: api.get(f"/cases/{case}/history", who),
        "POST /cases/{id}/records": lambda: api.post(
            f"/cases/{case}/records", who, {"kind": "note", "text": "Seen."}
        ),
        "POST /records/{id}/acknowledge": lambda: api.post(f"/records/{record}/acknowledge", who),
        "POST /cases/{id}/timescale": lambda: api.post(
            f"/cases/{case}/timescale", who, {"due_at": due, "reason": "Holidays."}
        ),
        "POST /cases/{id}/timescale/accept": lambda: api.post(
            f"/cases/{case}/timescale/accept", who
        ),
        "POST /cases/{id}/actions/escalate": lambda: api.post(
            f"/cases/{case}/actions/escalate", who, {"record": "Not agreed."}, headers=match
        ),
        "POST /cases/{id}/actions/withdraw": lambda: api.post(
            f"/cases/{case}/actions/withdraw",
            who,
            {"record": "Sorted.", "outcome": {"text": "Withdrawn."}},
            headers=match,
        ),
        "GET /outcomes": lambda: api.get("/outcomes", who),
        "GET /audit/events": lambda: api.get("/audit/events", who),
        "GET /audit/verify": lambda: api.get("/audit/verify", who),
        "GET /openapi.json": lambda: api.get("/openapi.json", who),
    }
    if endpoint == "GET /cases (sees it)":
        total = api.get("/cases?per_page=1", who).get_json()["total"]
        last = api.get(f"/cases?per_page=100&page={max(1, -(-total // 100))}", who).get_json()
        return int(any(item["id"] == case for item in last["items"]))
    return calls[endpoint]().status_code


def test_every_user_against_every_endpoint(
    api: Api, world: factories.World, now: datetime, ctx: Context
) -> None:
    observed: dict[str, tuple[int, ...]] = {}
    for role, who in USERS.items():
        row = []
        for endpoint in ENDPOINTS:
            ids = _fresh(world, now, ctx)
            before = row_counts()
            status = _cell(api, who, endpoint, ids)
            if status >= 400:
                assert row_counts() == before, f"{role} {endpoint} refused but wrote"
            row.append(status)
        observed[role] = tuple(row)
    changed = [
        f"{role} / {endpoint}: expected {want}, got {got}"
        for role in USERS
        for endpoint, want, got in zip(ENDPOINTS, EXPECTED[role], observed[role], strict=True)
        if want != got
    ]
    assert not changed, "\n".join(changed)


def test_a_case_the_user_may_not_see_is_404_just_like_one_that_does_not_exist(
    api: Api, world: factories.World, now: datetime
) -> None:
    case = new_case(world, now)
    hidden = api.get(f"/cases/{case.id}", "police_practitioner")
    missing = api.get("/cases/987654", "police_practitioner")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["error"]["code"] == missing.get_json()["error"]["code"]
    assert case.reference not in hidden.get_data(as_text=True)
