"""Every endpoint of contract v1 doing what a client expects, and the bearer tokens behind them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask.testing import FlaskCliRunner
from sqlalchemy import select

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.models import AccessLog, ApiToken
from resolution.services import accounts

from .. import factories
from .conftest import Api, error_of, new_case

CASE_KEYS = {
    "id",
    "reference",
    "workflow",
    "state",
    "closed",
    "child_ref",
    "category",
    "summary",
    "raised_by",
    "parties",
    "step",
    "steps",
    "records",
    "outcome",
    "version",
}
STEP_KEYS = {"stage", "title", "started_at", "due_at", "timescale", "overdue"}
RAISE = {
    "child_ref": "CS-778899",
    "category": "threshold",
    "summary": "Health think the referral meets the threshold; CSC do not.",
    "with_agencies": ["HEALTH"],
    "with_people": ["health_practitioner@example.org"],
}


def test_workflows_lists_each_definition_with_its_stages_and_actions(api: Api) -> None:
    response = api.get("/workflows", "csc_practitioner")
    assert response.status_code == 200
    leeds = next(w for w in response.get_json() if w["key"] == "leeds-pcrp")
    assert leeds["version"] == 1
    assert [s["key"] for s in leeds["stages"]] == [
        "practitioners",
        "managers",
        "leads",
        "partnership",
    ]
    assert all(s["timescale"] == "5 working days" for s in leeds["stages"])
    assert {"escalate", "resolve", "withdraw"} <= {a["key"] for a in leeds["actions"]}


def test_raising_a_case_answers_201_with_the_case_its_etag_and_location(api: Api) -> None:
    response = api.post("/cases", "csc_practitioner", RAISE)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert set(case) >= CASE_KEYS
    assert case["workflow"]["key"] == "leeds-pcrp" and case["workflow"]["version"] == 2
    assert case["state"] == "practitioners" and case["closed"] is False and case["outcome"] is None
    assert set(case["step"]) >= STEP_KEYS
    assert case["step"]["timescale"] == {
        **case["step"]["timescale"],
        "status": "default",
        "agreed_by": [],
    }
    assert {p["email"] for p in case["parties"]} == {
        "csc_practitioner@example.org",
        "health_practitioner@example.org",
    }
    assert response.headers["ETag"] == '"1"' and case["version"] == 1
    assert response.headers["Location"].endswith(f"/api/v1/cases/{case['id']}")
    assert case["step"]["due_at"].endswith("+00:00")
    assert {a["key"] for a in case["actions"]} >= {"escalate", "resolve", "withdraw"}


def test_raising_with_immediate_risk_starts_urgent(api: Api) -> None:
    at = (real_now() - timedelta(hours=1)).isoformat()
    body = {
        **RAISE,
        "immediate_risk": {"referral_made": True, "referred_to": "CSWS front door", "at": at},
    }
    response = api.post("/cases", "csc_practitioner", body)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert case["urgent"] is True and case["state"] == "leads"
    assert case["immediate_risk"]["referred_to"] == "CSWS front door"


def test_listing_is_scoped_filtered_and_paged_in_a_stable_order(
    api: Api, world: factories.World, now
) -> None:
    ids = [new_case(world, now, child_ref=f"CS-10000{i}").id for i in range(3)]
    new_case(world, now, by="police_practitioner", with_agencies=("CSC",), with_people=())
    first = api.get("/cases?per_page=2", "health_practitioner").get_json()
    second = api.get("/cases?per_page=2&page=2", "health_practitioner").get_json()
    assert [c["id"] for c in first["items"]] == ids[:2] and first["total"] == 3
    assert (
        [c["id"] for c in second["items"]] == ids[2:]
        and second["page"] == 2
        and second["per_page"] == 2
    )
    assert "records" not in first["items"][0]
    assert api.get("/cases", "csc_manager").get_json()["total"] == 4
    assert api.get("/cases?agency=police", "csc_manager").get_json()["total"] == 1
    assert api.get("/cases?state=closed", "csc_manager").get_json()["total"] == 0
    assert api.get("/cases?state=open&stage=practitioners", "csc_manager").get_json()["total"] == 4
    assert api.get("/cases?overdue=true", "csc_manager").get_json()["total"] == 0
    assert api.get("/cases?overdue=false", "csc_manager").get_json()["total"] == 4
    assert api.get("/cases", "admin").get_json() == {
        "items": [],
        "page": 1,
        "per_page": 20,
        "total": 0,
    }


def test_a_case_is_read_with_its_version_as_etag_and_the_view_is_logged(
    api: Api, world, now
) -> None:
    case = new_case(world, now)
    response = api.get(f"/cases/{case.id}", "health_lead")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= CASE_KEYS and response.headers["ETag"] == f'"{body["version"]}"'
    assert len(body["steps"]) == 1 and body["records"] == []
    logged = db.session.scalars(select(AccessLog).where(AccessLog.door == "api")).all()
    assert [(a.actor, a.what, a.target) for a in logged] == [
        ("health_lead@example.org", "case_viewed", case.reference)
    ]


def test_a_full_journey_records_acknowledgements_timescales_and_actions(
    api: Api, world, now
) -> None:
    case_id = new_case(world, now).id
    record = api.post(
        f"/cases/{case_id}/records", "csc_practitioner", {"kind": "discussion", "text": "We spoke."}
    )
    assert record.status_code == 201, record.get_json()
    rec = record.get_json()
    assert rec["kind"] == "discussion" and rec["author"]["email"] == "csc_practitioner@example.org"
    assert rec["acknowledged_by"] == []
    due = (real_now() + timedelta(days=3)).isoformat()
    action = api.post(
        f"/cases/{case_id}/records",
        "csc_practitioner",
        {"kind": "action", "text": "Send notes.", "action_due": due},
    )
    assert action.status_code == 201 and action.get_json()["action_due"] is not None

    for _ in range(2):  # again is harmless
        ack = api.post(f"/records/{rec['id']}/acknowledge", "health_practitioner")
        assert ack.status_code == 200, ack.get_json()
        assert [a["email"] for a in ack.get_json()["acknowledged_by"]] == [
            "health_practitioner@example.org"
        ]

    version = int(api.get(f"/cases/{case_id}", "csc_practitioner").headers["ETag"].strip('"'))
    due_at = factories.working_day(real_now(), 10).isoformat()
    proposed = api.post(
        f"/cases/{case_id}/timescale",
        "health_practitioner",
        {"due_at": due_at, "reason": "Leave."},
        headers={"If-Match": f'"{version}"'},
    )
    assert proposed.status_code == 200, proposed.get_json()
    assert proposed.get_json()["step"]["timescale"]["status"] == "proposed"
    accepted = api.post(f"/cases/{case_id}/timescale/accept", "csc_practitioner", json={})
    assert accepted.status_code == 200, accepted.get_json()
    timescale = accepted.get_json()["step"]["timescale"]
    assert timescale["status"] == "agreed"
    assert [p["email"] for p in timescale["agreed_by"]] == [
        "health_practitioner@example.org",
        "csc_practitioner@example.org",
    ]

    etag = accepted.headers["ETag"]
    escalated = api.post(
        f"/cases/{case_id}/actions/escalate",
        "csc_practitioner",
        {"record": "Not agreed."},
        headers={"If-Match": f"W/{etag}"},
    )
    assert escalated.status_code == 200, escalated.get_json()
    assert escalated.get_json()["state"] == "managers" and len(escalated.get_json()["steps"]) == 2
    resolved = api.post(
        f"/cases/{case_id}/actions/resolve",
        "csc_manager",
        {
            "record": "Agreed an assessment.",
            "outcome": {"text": "Assessment starts."},
            "learning": {"text": "Talk sooner.", "themes": ["thresholds"]},
        },
        headers={"If-Match": escalated.headers["ETag"].strip('"')},
    )
    assert resolved.status_code == 200, resolved.get_json()
    proposed = resolved.get_json()  # version 2: proposed until Health confirms
    assert proposed["closed"] is False and proposed["closing"]["status"] == "proposed"
    confirmed = api.post(
        f"/cases/{case_id}/closing/confirm",
        "health_manager",
        headers={"If-Match": resolved.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    closed = confirmed.get_json()
    assert closed["closed"] is True and closed["step"] is None and closed["actions"] == []
    assert closed["outcome"]["kind"] == "resolved" and closed["outcome"]["level"] == "managers"
    assert closed["learning"]["themes"] == ["thresholds"]

    events = api.get(f"/cases/{case_id}/history", "health_practitioner").get_json()
    assert [e["action"] for e in events] == [
        "raised",
        "record_added",
        "record_added",
        "record_acknowledged",
        "timescale_proposed",
        "timescale_agreed",
        "escalate",
        "closing_proposed",
        "resolve",
    ]
    assert all(e["case"] == closed["reference"] for e in events)
    assert [e["prev_digest"] for e in events[1:]] == [e["digest"] for e in events[:-1]]


def test_outcome_log_as_json_and_csv_for_auditors(api: Api, world, now) -> None:
    case = new_case(world, now)
    etag = api.get(f"/cases/{case.id}", "csc_practitioner").headers["ETag"]
    api.post(
        f"/cases/{case.id}/actions/withdraw",
        "csc_practitioner",
        {"record": "Sorted by phone.", "outcome": {"text": "Withdrawn."}},
        headers={"If-Match": etag},
    )
    log = api.get("/outcomes", "auditor")
    assert log.status_code == 200, log.get_json()
    body = log.get_json()
    assert body["total"] == 1 and body["audit_head"]["seq"] > 0
    row = body["items"][0]
    assert (
        row["reference"] == case.reference
        and row["outcome"] == "withdrawn"
        and row["level"] == "practitioners"
    )
    assert (
        row["agencies"] == ["CSC", "HEALTH"] and row["days_open"] == 0 and row["steps_overdue"] == 0
    )
    assert api.get("/outcomes?agency=POLICE", "partnership").get_json()["total"] == 0
    exported = api.get("/outcomes?format=csv", "partnership")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    text = exported.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.split("# audit chain head")[0])))
    assert [r["reference"] for r in rows] == [case.reference]
    assert rows[0]["chain_seq"] == str(body["audit_head"]["seq"])


def test_audit_events_page_in_order_and_the_chain_verifies(api: Api, world, now) -> None:
    new_case(world, now)
    everything = api.get("/audit/events?limit=1000", "auditor").get_json()
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    assert {
        "seq",
        "at",
        "actor",
        "case",
        "action",
        "from_state",
        "to_state",
        "digest",
        "prev_digest",
    } <= set(everything[0])
    page = api.get("/audit/events?after_seq=3&limit=2", "partnership").get_json()
    assert [e["seq"] for e in page] == [4, 5]
    verdict = api.get("/audit/verify", "auditor").get_json()
    assert (
        verdict["ok"] is True
        and verdict["events"] == len(everything)
        and verdict["broken_at"] is None
    )


def test_a_tampered_chain_fails_verification_at_the_broken_event(api: Api, world, now) -> None:
    new_case(world, now)
    db.session.execute(db.text("UPDATE audit_event SET actor = 'someone@else.org' WHERE seq = 3"))
    db.session.commit()
    verdict = api.get("/audit/verify", "auditor").get_json()
    assert verdict["ok"] is False and verdict["broken_at"] == 3


def test_the_description_is_openapi_3_with_every_endpoint_errors_and_bearer_auth(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "rsl_...",
    }
    expected = {
        ("get", "/api/v1/workflows"),
        ("post", "/api/v1/cases"),
        ("get", "/api/v1/cases"),
        ("get", "/api/v1/cases/{case_id}"),
        ("post", "/api/v1/cases/{case_id}/records"),
        ("post", "/api/v1/records/{record_id}/acknowledge"),
        ("post", "/api/v1/cases/{case_id}/timescale"),
        ("post", "/api/v1/cases/{case_id}/timescale/accept"),
        ("post", "/api/v1/cases/{case_id}/actions/{action}"),
        ("post", "/api/v1/records/{record_id}/done"),
        ("post", "/api/v1/records/{record_id}/withdraw"),
        ("post", "/api/v1/cases/{case_id}/timescale/decline"),
        ("post", "/api/v1/cases/{case_id}/closing/confirm"),
        ("post", "/api/v1/cases/{case_id}/closing/decline"),
        ("get", "/api/v1/cases/{case_id}/history"),
        ("post", "/api/v1/cases/{case_id}/parties"),
        ("post", "/api/v1/cases/{case_id}/handover"),
        ("get", "/api/v1/cases/{case_id}/record.pdf"),
        ("get", "/api/v1/outcomes"),
        ("get", "/api/v1/audit/events"),
        ("get", "/api/v1/audit/verify"),
        ("get", "/api/v1/openapi.json"),
    }
    assert {(m, p) for p, ops in spec["paths"].items() for m in ops} == expected
    action = spec["paths"]["/api/v1/cases/{case_id}/actions/{action}"]["post"]
    assert {"401", "403", "404", "409", "413", "422"} <= set(action["responses"])
    assert any(p["name"] == "If-Match" and p["required"] for p in action["parameters"])
    assert spec["components"]["schemas"]["RaiseCaseIn"]["additionalProperties"] is False
    assert spec["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_tokens_are_stored_hashed(api: Api, tokens: dict[str, str]) -> None:
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert stored and not set(stored) & set(tokens.values())
    assert accounts.hash_token(tokens["auditor"]) in stored


def test_missing_malformed_and_unknown_tokens_answer_401(api: Api, client) -> None:
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer rsl_nope"},
        {"Authorization": "Bearer"},
    ):
        response = client.get("/api/v1/cases", headers=headers)
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_stops_working(api: Api, world) -> None:
    two_days_ago = service_context(real_now() - timedelta(days=2))
    old = accounts.issue_token(db.session(), two_days_ago, world["auditor"].email, days=1)
    api.tokens["old"] = old
    assert api.get("/audit/verify", "old").status_code == 401


def test_revoking_from_the_cli_stops_tokens_at_once(api: Api, runner: FlaskCliRunner) -> None:
    assert api.get("/cases", "csc_lead").status_code == 200
    result = runner.invoke(args=["users", "revoke-tokens", "--email", "csc_lead@example.org"])
    assert result.exit_code == 0, result.output
    assert api.get("/cases", "csc_lead").status_code == 401
    assert api.get("/cases", "health_lead").status_code == 200


def test_a_deactivated_users_tokens_stop_at_once(api: Api, runner: FlaskCliRunner) -> None:
    assert api.get("/cases", "police_manager").status_code == 200
    result = runner.invoke(args=["users", "deactivate", "--email", "police_manager@example.org"])
    assert result.exit_code == 0, result.output
    assert api.get("/cases", "police_manager").status_code == 401


def test_web_paths_keep_their_html_error_pages(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_a_listing_shows_each_case_as_reading_it_does(api: Api, world, now) -> None:
    """A page of cases and one case are read by different statements (a page reads only
    current steps): what both show must agree, for open, agreed and closed cases alike."""
    agreed, closed, plain = (new_case(world, now).id for _ in range(3))
    due_at = factories.working_day(real_now(), 10).isoformat()
    proposed = api.post(
        f"/cases/{agreed}/timescale", "health_practitioner", {"due_at": due_at, "reason": "Leave."}
    )
    assert proposed.status_code == 200, proposed.get_json()
    accepted = api.post(f"/cases/{agreed}/timescale/accept", "csc_practitioner", json={})
    assert accepted.status_code == 200, accepted.get_json()
    escalated = api.post(
        f"/cases/{closed}/actions/escalate",
        "csc_practitioner",
        {"record": "No."},
        headers={"If-Match": '"1"'},
    )
    assert escalated.status_code == 200, escalated.get_json()
    resolved = api.post(
        f"/cases/{closed}/actions/resolve",
        "csc_manager",
        {
            "record": "Agreed.",
            "outcome": {"text": "Plan."},
            "learning": {"text": "Sooner.", "themes": ["thresholds", "information_sharing"]},
        },
        headers={"If-Match": escalated.headers["ETag"]},
    )
    assert resolved.status_code == 200, resolved.get_json()
    confirmed = api.post(
        f"/cases/{closed}/closing/confirm",
        "health_manager",
        headers={"If-Match": resolved.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.get_json()

    listed = api.get("/cases?per_page=100", "csc_manager").get_json()["items"]
    by_id = {item["id"]: item for item in listed}
    assert {agreed, closed, plain} <= set(by_id)
    for case_id in (agreed, closed, plain):
        whole = api.get(f"/cases/{case_id}", "csc_manager").get_json()
        summary = {k: v for k, v in whole.items() if k not in ("steps", "records", "actions")}
        assert by_id[case_id] == summary
    assert by_id[agreed]["step"]["timescale"]["status"] == "agreed"
    assert len(by_id[agreed]["step"]["timescale"]["agreed_by"]) == 2
    assert by_id[closed]["step"] is None and by_id[closed]["learning"]["themes"] == [
        "information_sharing",
        "thresholds",
    ]
    assert by_id[plain]["step"]["stage"] == "practitioners"


def test_the_overdue_listing_counts_what_it_lists(api: Api, world, now) -> None:
    """The total of `overdue=true` comes from the counts per level; the items from the
    listing's own query: both must agree, with and without a stage."""
    for days in (0, 3, 30, 60):
        new_case(world, real_now() - timedelta(days=days), child_ref=f"CS-2000{days}")
    for query in ("overdue=true", "overdue=true&state=open", "overdue=true&stage=practitioners",
                  "overdue=true&stage=managers", "overdue=true&stage="):  # fmt: skip
        page = api.get(f"/cases?{query}&per_page=100", "csc_manager").get_json()
        assert page["total"] == len(page["items"]), query
    assert api.get("/cases?overdue=true", "csc_manager").get_json()["total"] == 2
    assert api.get("/cases?overdue=true&stage=managers", "csc_manager").get_json()["total"] == 0
