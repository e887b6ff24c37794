"""Bad input gets the documented status, a message naming the field, and writes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from resolution.context import real_now
from resolution.domain import rules

from .. import factories
from .conftest import Api, error_of, new_case, nothing_written

RAISE = {
    "child_ref": "CS-778899",
    "category": "threshold",
    "summary": "Health think the referral meets the threshold; CSC do not.",
    "with_agencies": ["HEALTH"],
}


def _etag(api: Api, case_id: int, who: str = "csc_practitioner") -> str:
    return api.get(f"/cases/{case_id}", who).headers["ETag"]


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b"{not json", "body", "not valid JSON"),
        (b"", "body", "JSON object"),
        (b"[1, 2, 3]", "body", "JSON object"),
        (b'"a string"', "body", "JSON object"),
        (b"\xff\xfe\x00garbage", "body", ""),
        (b"[" * 5000 + b"]" * 5000, "body", ""),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_naming_the_body(
    api: Api, world: factories.World, raw: bytes, field: str, words: str
) -> None:
    with nothing_written():
        response = api.post("/cases", "csc_practitioner", data=raw)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in error["fields"] and words in error["message"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"child_ref": 123456}, "child_ref", "Not a valid string"),
        ({"with_agencies": "HEALTH"}, "with_agencies", "Not a valid list"),
        ({"category": "sandwiches"}, "category", "Must be one of"),
        ({"summary": None}, "summary", "null"),
        ({"summary": "x" * 20_000}, "summary", "Length must be between"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"immediate_risk": {"referral_made": [1]}}, "immediate_risk.referral_made", "boolean"),
        ({"immediate_risk": {"referral_made": True, "ring": 1}}, "immediate_risk.ring", "unknown"),
    ],
)
def test_wrong_types_and_unknown_fields_are_refused_naming_the_field(
    api: Api, world: factories.World, change: dict, field: str, words: str
) -> None:
    with nothing_written():
        response = api.post("/cases", "csc_practitioner", {**RAISE, **change})
    assert response.status_code == 422, response.get_json()
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in error["fields"], error
    assert words.lower() in " ".join(error["fields"][field]).lower()
    assert field in error["message"]


@pytest.mark.parametrize("missing", ["child_ref", "category", "summary", "with_agencies"])
def test_each_missing_required_field_is_named(
    api: Api, world: factories.World, missing: str
) -> None:
    body = {k: v for k, v in RAISE.items() if k != missing}
    with nothing_written():
        response = api.post("/cases", "csc_practitioner", body)
    assert response.status_code == 422
    assert missing in error_of(response)["fields"]


def test_rules_the_services_check_are_refused_with_the_field_named(
    api: Api, world: factories.World
) -> None:
    with nothing_written():
        own = api.post("/cases", "csc_practitioner", {**RAISE, "with_agencies": ["CSC"]})
        nobody = api.post("/cases", "csc_practitioner", {**RAISE, "with_agencies": ["NOPE"]})
        stranger = api.post(
            "/cases", "csc_practitioner", {**RAISE, "with_people": ["nobody@example.org"]}
        )
    for response in (own, nobody, stranger):
        assert response.status_code == 422, response.get_json()
        assert error_of(response)["fields"], response.get_json()


def test_a_body_over_the_size_limit_is_413_in_the_json_shape(
    api: Api, world: factories.World, app
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    huge = json.dumps({**RAISE, "summary": "x" * (limit + 10)}).encode()
    with nothing_written():
        response = api.post("/cases", "csc_practitioner", data=huge)
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large" and str(limit) in error["message"]


def test_unknown_case_record_and_action_are_404(
    api: Api, world: factories.World, now: datetime
) -> None:
    case = new_case(world, now)
    etag = _etag(api, case.id)
    with nothing_written():
        answers = [
            api.get("/cases/999999", "auditor"),
            api.get(f"/cases/{2**70}", "auditor"),
            api.get("/cases/4502779097460", "auditor"),  # past 32 bits: PostgreSQL refused it
            api.get("/cases/0/history", "auditor"),
            api.post("/records/4502779097460/acknowledge", "health_practitioner"),
            api.get("/cases/999999/history", "auditor"),
            api.post(
                "/cases/999999/records", "csc_practitioner", {"kind": "note", "text": "Hello."}
            ),
            api.post("/records/999999/acknowledge", "health_practitioner"),
            api.post(
                f"/cases/{case.id}/actions/teleport",
                "csc_practitioner",
                {"record": "Off we go."},
                headers={"If-Match": etag},
            ),
            api.get("/no/such/thing", "auditor"),
        ]
    for response in answers:
        assert response.status_code == 404, (response.request.path, response.get_json())
        assert error_of(response)["code"] == "not_found"


def test_a_wrong_method_is_405_in_the_json_shape_never_html(api: Api, world) -> None:
    for response in (api.call("DELETE", "/cases", "auditor"), api.call("PUT", "/workflows", None)):
        assert response.status_code == 405
        assert error_of(response)["code"] == "method_not_allowed"
        assert b"<html" not in response.data.lower()


def test_a_stale_or_missing_if_match_writes_nothing(
    api: Api, world: factories.World, now: datetime
) -> None:
    case = new_case(world, now)
    stale = _etag(api, case.id)
    added = api.post(f"/cases/{case.id}/records", "csc_practitioner", {"kind": "note", "text": "N"})
    assert added.status_code == 201
    body = {"record": "Not agreed."}
    with nothing_written():
        stale_answer = api.post(
            f"/cases/{case.id}/actions/escalate",
            "csc_practitioner",
            body,
            headers={"If-Match": stale},
        )
        missing = api.post(f"/cases/{case.id}/actions/escalate", "csc_practitioner", body)
        garbled = api.post(
            f"/cases/{case.id}/actions/escalate",
            "csc_practitioner",
            body,
            headers={"If-Match": "yesterday"},
        )
    assert stale_answer.status_code == 409
    assert error_of(stale_answer)["code"] == "conflict"
    assert "version" in error_of(stale_answer)["message"]
    for response in (missing, garbled):
        assert response.status_code == 422
        assert "If-Match" in error_of(response)["fields"]


def test_a_closed_case_takes_no_more_actions_records_or_timescales(
    api: Api, world: factories.World, now: datetime
) -> None:
    case = new_case(world, now)
    closed = api.post(
        f"/cases/{case.id}/actions/withdraw",
        "csc_practitioner",
        {"record": "Sorted by phone.", "outcome": {"text": "Withdrawn."}},
        headers={"If-Match": _etag(api, case.id)},
    )
    assert closed.status_code == 200, closed.get_json()
    etag = closed.headers["ETag"]
    due = factories.working_day(real_now(), 10).isoformat()
    with nothing_written():
        answers = [
            api.post(
                f"/cases/{case.id}/actions/escalate",
                "csc_practitioner",
                {"record": "Again."},
                headers={"If-Match": etag},
            ),
            api.post(
                f"/cases/{case.id}/records", "health_practitioner", {"kind": "note", "text": "N"}
            ),
            api.post(
                f"/cases/{case.id}/timescale", "health_practitioner", {"due_at": due, "reason": "R"}
            ),
        ]
    for response in answers:
        assert response.status_code == 409, response.get_json()
        assert error_of(response)["code"] == "conflict"


def test_an_action_without_its_required_record_or_outcome_is_refused(
    api: Api, world: factories.World, now: datetime
) -> None:
    case = new_case(world, now)
    etag = _etag(api, case.id)
    with nothing_written():
        no_record = api.post(
            f"/cases/{case.id}/actions/escalate", "csc_practitioner", {}, headers={"If-Match": etag}
        )
        no_outcome = api.post(
            f"/cases/{case.id}/actions/resolve",
            "csc_practitioner",
            {"record": "Done."},
            headers={"If-Match": etag},
        )
    assert no_record.status_code == 422 and "record" in error_of(no_record)["fields"]
    assert no_outcome.status_code == 422
    assert any(name.startswith("outcome") for name in error_of(no_outcome)["fields"])


def test_a_timescale_in_the_past_and_an_action_record_without_a_deadline(
    api: Api, world: factories.World, now: datetime
) -> None:
    case = new_case(world, now)
    past = (real_now() - timedelta(days=1)).isoformat()
    with nothing_written():
        late = api.post(
            f"/cases/{case.id}/timescale", "health_practitioner", {"due_at": past, "reason": "R"}
        )
        naive = api.post(
            f"/cases/{case.id}/timescale",
            "health_practitioner",
            {"due_at": "2030-01-01T12:00:00", "reason": "R"},
        )
        undated = api.post(
            f"/cases/{case.id}/records", "csc_practitioner", {"kind": "action", "text": "Do it."}
        )
    assert late.status_code == 422 and "due_at" in error_of(late)["fields"]
    assert naive.status_code == 422 and "due_at" in error_of(naive)["fields"]
    assert undated.status_code == 422 and "action_due" in error_of(undated)["fields"]


@pytest.mark.parametrize(
    "query",
    ["per_page=0", "per_page=100000", "page=-1", "page=abc", "overdue=maybe", "state=ajar", "x=1"],
)
def test_bad_query_parameters_are_422_naming_the_parameter(
    api: Api, world: factories.World, query: str
) -> None:
    response = api.get(f"/cases?{query}", "csc_manager")
    assert response.status_code == 422, response.get_json()
    assert query.split("=")[0] in error_of(response)["fields"]


EXTREMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59+00:00"]


@pytest.mark.parametrize("at", EXTREMES)
def test_instants_past_the_years_taken_are_refused_naming_the_field(
    api: Api, world: factories.World, now: datetime, at: str
) -> None:
    case = new_case(world, now)
    risk = {"referral_made": True, "referred_to": "the front door", "at": at}
    with nothing_written():
        raised = api.post("/cases", "csc_practitioner", {**RAISE, "immediate_risk": risk})
        action = api.post(
            f"/cases/{case.id}/records",
            "csc_practitioner",
            {"kind": "action", "text": "Send it.", "action_due": at},
        )
        timescale = api.post(
            f"/cases/{case.id}/timescale", "health_practitioner", {"due_at": at, "reason": "R"}
        )
    for response, field in (
        (raised, "immediate_risk.at"),
        (action, "action_due"),
        (timescale, "due_at"),
    ):
        assert response.status_code == 422, response.get_json()
        error = error_of(response)
        assert error["code"] == "validation_error" and field in error["fields"], error
        assert "1900 to 2200" in " ".join(error["fields"][field])


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=9999-12-31", "from=0001-01-01"])
def test_outcome_days_past_the_years_taken_are_refused_naming_the_parameter(
    api: Api, world: factories.World, query: str
) -> None:
    for path in (f"/outcomes?{query}", f"/outcomes?{query}&format=csv"):
        response = api.get(path, "auditor")
        assert response.status_code == 422, response.get_data(as_text=True)
        assert query.split("=")[0] in error_of(response)["fields"]


CONTROLS = ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85"]


@pytest.mark.parametrize("control", CONTROLS)
def test_control_characters_are_refused_in_every_text_field(
    api: Api, world: factories.World, now: datetime, control: str
) -> None:
    case = new_case(world, now)
    etag = _etag(api, case.id)
    bad = f"Before{control}after"
    risk = {"referral_made": True, "referred_to": bad, "at": now.isoformat()}
    closing = {"record": "Done.", "outcome": {"text": "Agreed."}}
    with nothing_written():
        answers = {
            "summary": api.post("/cases", "csc_practitioner", {**RAISE, "summary": bad}),
            "child_initials": api.post(
                "/cases", "csc_practitioner", {**RAISE, "child_initials": f"A{control}"}
            ),
            "with_agencies.0": api.post(
                "/cases", "csc_practitioner", {**RAISE, "with_agencies": [bad]}
            ),
            "with_people.0": api.post(
                "/cases", "csc_practitioner", {**RAISE, "with_people": [f"a{control}@b.org"]}
            ),
            "immediate_risk.referred_to": api.post(
                "/cases", "csc_practitioner", {**RAISE, "immediate_risk": risk}
            ),
            "text": api.post(
                f"/cases/{case.id}/records", "csc_practitioner", {"kind": "note", "text": bad}
            ),
            "reason": api.post(
                f"/cases/{case.id}/timescale",
                "health_practitioner",
                {"due_at": factories.working_day(real_now(), 9).isoformat(), "reason": bad},
            ),
            "record": api.post(
                f"/cases/{case.id}/actions/escalate",
                "csc_practitioner",
                {"record": bad},
                headers={"If-Match": etag},
            ),
            "outcome.text": api.post(
                f"/cases/{case.id}/actions/resolve",
                "csc_practitioner",
                {**closing, "outcome": {"text": bad}},
                headers={"If-Match": etag},
            ),
            "learning.text": api.post(
                f"/cases/{case.id}/actions/resolve",
                "csc_practitioner",
                {**closing, "learning": {"text": bad}},
                headers={"If-Match": etag},
            ),
            "agency": api.get(f"/cases?agency=H{control}", "csc_manager"),
            "level": api.get(f"/outcomes?level=x{control}", "auditor"),
        }
    for field, response in answers.items():
        assert response.status_code == 422, (field, response.get_json())
        error = error_of(response)
        assert rules.NOT_PRINTABLE in error["fields"].get(field, []), (field, error)


def test_tabs_and_line_breaks_are_kept(api: Api, world: factories.World) -> None:
    raised = api.post("/cases", "csc_practitioner", {**RAISE, "summary": "One\tcell\r\nTwo\n"})
    assert raised.status_code == 201, raised.get_json()
    assert raised.get_json()["summary"] == "One\tcell\r\nTwo"


def test_the_description_is_as_strict_as_the_server(api: Api, world: factories.World) -> None:
    spec = api.get("/openapi.json", None).get_json()
    found = spec["components"]["schemas"]
    for name in ("RaiseCaseIn", "RecordIn", "TimescaleIn", "OutcomeIn", "LearningIn", "ActionIn"):
        for field, prop in found[name]["properties"].items():
            if (
                prop.get("type") == "string"
                and not {"enum", "format"} & set(prop)
                and field != "child_ref"
            ):
                assert prop.get("pattern") == rules.PRINTABLE_PATTERN, (name, field)
            if prop.get("format") == "date-time":
                assert "1900 to 2200" in prop["description"], (name, field)
    assert "required for an action" in found["RecordIn"]["properties"]["action_due"]["description"]
    assert set(found["OutcomeOut"]["required"]) == {"kind", "level", "text", "at"}
    assert set(found["LearningOut"]["required"]) == {"text", "themes"}
    params = {
        p["name"]: p["schema"]
        for operation in spec["paths"]["/api/v1/cases"].values()
        for p in operation.get("parameters", [])
        if p["in"] == "query"
    }
    assert params["page"]["maximum"] == rules.MAX_PAGE and params["page"]["minimum"] == 1


def test_nullable_objects_are_described_as_their_own_schema_or_null(api: Api, world) -> None:
    spec = api.get("/openapi.json", None).get_json()
    found = spec["components"]["schemas"]
    for name, field, ref in (
        ("ActionIn", "outcome", "OutcomeIn"),
        ("ActionIn", "learning", "LearningIn"),
        ("RaiseCaseIn", "immediate_risk", "ImmediateRiskIn"),
        ("CaseSummaryOut", "outcome", "OutcomeOut"),
        ("CaseSummaryOut", "learning", "LearningOut"),
    ):
        prop = found[name]["properties"][field]
        assert prop == {"allOf": [{"$ref": f"#/components/schemas/{ref}"}], "nullable": True}
    assert found["OutcomeOut"]["properties"]["kind"]["enum"] == [*rules.OUTCOME_KINDS, None]
    assert found["LearningOut"]["properties"]["themes"]["items"]["enum"] == list(rules.THEMES)
