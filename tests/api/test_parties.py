"""POST /cases/{id}/parties and /cases/{id}/handover, as API.md's additions say."""

from __future__ import annotations

import pytest

from .conftest import error_of, new_case, nothing_written


def _version(api, case_id: int, who: str = "csc_practitioner") -> str:
    return api.get(f"/cases/{case_id}", who).headers["ETag"]


def test_parties_adds_agencies_and_people_and_answers_the_case(world, now, api) -> None:
    case = new_case(world, now)
    answer = api.post(
        f"/cases/{case.id}/parties",
        "csc_practitioner",
        {"with_agencies": ["POLICE"], "with_people": ["csc_practitioner2@example.org"]},
        headers={"If-Match": _version(api, case.id)},
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert [a["code"] for a in body["agencies"]] == ["CSC", "HEALTH", "POLICE"]
    assert "csc_practitioner2@example.org" in [p["email"] for p in body["parties"]]
    assert answer.headers["ETag"] == f'"{body["version"]}"'
    seen = api.get(f"/cases/{case.id}", "csc_practitioner2")
    assert seen.status_code == 200  # a party now


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"with_agencies": ["POLICE"], "extra": 1}, 422, "extra"),
        ({"with_people": "csc_practitioner2@example.org"}, 422, "with_people"),
        ({}, 422, "with_agencies"),
        ({"with_agencies": ["NOPE"]}, 422, "with_agencies"),
    ],
)
def test_parties_refuses_a_bad_body_and_writes_nothing(world, now, api, body, status, field):
    case = new_case(world, now)
    version = _version(api, case.id)
    with nothing_written():
        answer = api.post(
            f"/cases/{case.id}/parties", "csc_practitioner", body, headers={"If-Match": version}
        )
    assert answer.status_code == status
    assert field in error_of(answer)["fields"]


def test_parties_needs_if_match_and_refuses_a_stale_one(world, now, api) -> None:
    case = new_case(world, now)
    path, body = f"/cases/{case.id}/parties", {"with_agencies": ["POLICE"]}
    with nothing_written():
        missing = api.post(path, "csc_practitioner", body)
        stale = api.post(path, "csc_practitioner", body, headers={"If-Match": '"99"'})
        hidden = api.post(path, "police_lead", body, headers={"If-Match": '"1"'})
        reader = api.post(path, "auditor", body, headers={"If-Match": '"1"'})
    assert missing.status_code == 422 and "If-Match" in error_of(missing)["fields"]
    assert stale.status_code == 409 and error_of(stale)["code"] == "conflict"
    assert hidden.status_code == 404
    assert reader.status_code == 403


def test_handover_moves_the_part_and_the_history_names_all_three(world, now, api) -> None:
    case = new_case(world, now)
    body = {
        "from": "csc_practitioner@example.org",
        "to": "csc_practitioner2@example.org",
        "reason": "Sam is on long-term sick leave.",
    }
    version = _version(api, case.id)
    path = f"/cases/{case.id}/handover"
    with nothing_written():
        other = api.post(path, "health_manager", body, headers={"If-Match": version})
        unknown = api.post(path, "csc_manager", {**body, "by": "x"}, headers={"If-Match": version})
        no_reason = api.post(
            path, "csc_manager", {**body, "reason": ""}, headers={"If-Match": version}
        )
    assert other.status_code == 403
    assert unknown.status_code == 422 and "by" in error_of(unknown)["fields"]
    assert no_reason.status_code == 422 and "reason" in error_of(no_reason)["fields"]
    answer = api.post(path, "csc_manager", body, headers={"If-Match": version})
    assert answer.status_code == 200, answer.get_json()
    emails = [p["email"] for p in answer.get_json()["parties"]]
    assert (
        "csc_practitioner2@example.org" in emails and "csc_practitioner@example.org" not in emails
    )
    events = api.get(f"/cases/{case.id}/history", "csc_manager").get_json()
    handed = [e for e in events if e["action"] == "handed_over"]
    assert len(handed) == 1 and handed[0]["actor"] == "csc_manager@example.org"
    assert handed[0]["payload"]["from"] == body["from"] and handed[0]["payload"]["to"] == body["to"]
    assert handed[0]["prev_digest"] == events[-2]["digest"]  # chained to the case's last
    assert api.get(f"/cases/{case.id}", "csc_practitioner").status_code == 404
