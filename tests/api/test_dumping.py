"""The API's quick dumping of answers gives exactly what marshmallow's dump of the same schema gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from marshmallow import Schema

from resolution.api import dumping, views
from resolution.context import real_now

from .conftest import Api, new_case


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Dump every answer both ways; return the names of the schemas compared."""
    seen: list[str] = []

    def both(schema: type[Schema], many: bool) -> dumping.Dump:
        reference = schema(many=many)
        quick = dumping.dumper(reference)

        def dump(data: Any) -> Any:
            expected, got = reference.dump(data), quick(data)
            assert got == expected, schema.__name__
            # Equal as values is not enough for JSON: 1 == True and 1.0 == 1.
            assert repr(got) == repr(expected), schema.__name__
            seen.append(schema.__name__)
            return got

        return dump

    monkeypatch.setattr(views, "_dumper", both)
    return seen


def test_every_kind_of_answer_dumps_as_marshmallow_does(api: Api, world, now, compared) -> None:
    case_id = new_case(world, now).id
    record = api.post(
        f"/cases/{case_id}/records",
        "csc_practitioner",
        {
            "kind": "action",
            "text": "Send «notes».",
            "action_due": (real_now() + timedelta(days=3)).isoformat(),
        },
    ).get_json()
    api.post(f"/records/{record['id']}/acknowledge", "health_practitioner")
    due_at = (real_now() + timedelta(days=10)).isoformat()
    api.post(
        f"/cases/{case_id}/timescale", "health_practitioner", {"due_at": due_at, "reason": "Leave."}
    )
    accepted = api.post(f"/cases/{case_id}/timescale/accept", "csc_practitioner", json={})
    escalated = api.post(
        f"/cases/{case_id}/actions/escalate", "csc_practitioner", {"record": "No."},
        headers={"If-Match": accepted.headers["ETag"]},
    )  # fmt: skip
    resolved = api.post(
        f"/cases/{case_id}/actions/resolve", "csc_manager",
        {"record": "Agreed.", "outcome": {"text": "Plan."},
         "learning": {"text": "Sooner.", "themes": ["thresholds", "neglect"]}},
        headers={"If-Match": escalated.headers["ETag"]},
    )  # fmt: skip
    assert resolved.status_code == 200, resolved.get_json()
    new_case(world, now)  # an open one beside it in the lists
    answers = [
        api.get("/workflows", "csc_practitioner"),
        api.get(f"/cases/{case_id}", "csc_manager"),
        api.get("/cases?per_page=5", "csc_manager"),
        api.get(f"/cases/{case_id}/history", "csc_manager"),
        api.get("/outcomes", "auditor"),
        api.get("/audit/events?limit=50", "auditor"),
        api.get("/audit/verify", "auditor"),
    ]
    assert all(a.status_code == 200 for a in answers), [a.get_json() for a in answers]
    assert {
        "WorkflowOut", "CaseOut", "RecordOut", "CasePageOut", "EventOut", "OutcomeLogOut", "VerifyOut",
    } <= set(compared)  # fmt: skip
