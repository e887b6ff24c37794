"""GET /cases?q=: either reference, whole or its beginning, scoped as every listing."""

from __future__ import annotations

from .conftest import error_of, new_case


def test_q_finds_cases_by_either_reference_whole_or_beginning_scoped(world, now, api) -> None:
    first = new_case(world, now, child_ref="CS-881000")
    second = new_case(world, now, child_ref="CS-882000")
    apart = new_case(world, now, by="police_practitioner", with_people=(), child_ref="CS-883000")

    def found(who: str, q: str) -> list[str]:
        answer = api.get(f"/cases?q={q}", who)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        assert set(body) == {"items", "page", "per_page", "total"}
        assert body["total"] == len(body["items"])
        return [item["reference"] for item in body["items"]]

    assert found("csc_practitioner", "cs-881") == [first.reference]
    assert found("csc_practitioner", "CS-88") == [first.reference, second.reference]
    assert found("csc_practitioner", second.reference) == [second.reference]
    assert found("csc_practitioner", second.reference.lower()) == [second.reference]
    assert found("csc_practitioner", "RC-00000") == [first.reference, second.reference]
    assert found("auditor", "CS-88") == [first.reference, second.reference, apart.reference]
    assert found("police_practitioner", "CS-88") == [apart.reference]
    assert found("csc_practitioner", "CS-88%25") == []  # a wildcard is a character like any
    assert found("csc_practitioner", "CS-883") == []  # not theirs: not found
    both = api.get("/cases?q=CS-88&state=open&per_page=1", "csc_practitioner").get_json()
    assert both["total"] == 2 and len(both["items"]) == 1


def test_q_refuses_what_no_reference_can_be(world, api) -> None:
    too_long = api.get("/cases?q=" + "A" * 41, "csc_practitioner")
    assert too_long.status_code == 422 and "q" in error_of(too_long)["fields"]
    control = api.get("/cases?q=A%00", "csc_practitioner")
    assert control.status_code == 422 and "q" in error_of(control)["fields"]
