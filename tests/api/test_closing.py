"""Nobody closes a disagreement alone (leeds-pcrp version 2): a closing below the final level is
proposed until a party of another agency confirms or declines it; withdrawing is for the side
that raised it; the partnership's decision stands alone; cases opened on version 1 keep its rules."""

from __future__ import annotations

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.models import Case
from resolution.services.mailer import send_pending
from tests.scheduler.conftest import SmtpServer

from .. import factories
from .conftest import Api, error_of, new_case, nothing_written

RESOLVE = {"record": "We agreed an assessment.", "outcome": {"text": "CSC assess."}}


def _etag(api: Api, case_id: int, who: str = "csc_practitioner") -> str:
    return api.get(f"/cases/{case_id}", who).headers["ETag"]


def _take(api: Api, case_id: int, action: str, who: str, body=RESOLVE):
    return api.post(
        f"/cases/{case_id}/actions/{action}", who, body, headers={"If-Match": _etag(api, case_id)}
    )


def _mail(smtp: SmtpServer) -> list[tuple[str, str]]:
    send_pending(db.session(), service_context(real_now()), smtp.settings)
    found = sorted((m.to, m.subject) for m in smtp.mailbox.items)
    smtp.mailbox.clear()
    return found


def test_a_resolution_is_proposed_until_a_party_of_another_agency_confirms_it(
    api: Api, world, now, smtp_server: SmtpServer
) -> None:
    case = new_case(world, now)
    _mail(smtp_server)
    before = api.get(f"/cases/{case.id}", "csc_practitioner").get_json()
    proposed = _take(api, case.id, "resolve", "csc_practitioner")
    assert proposed.status_code == 200, proposed.get_json()
    body = proposed.get_json()
    assert body["closed"] is False and body["state"] == "practitioners"
    assert body["step"]["ended_at"] is None and body["step"]["due_at"] == before["step"]["due_at"]
    closing = body["closing"]
    assert {k: closing[k] for k in ("action", "outcome_kind", "status", "declined_by", "reason")} == {
        "action": "resolve", "outcome_kind": "resolved", "status": "proposed",
        "declined_by": None, "reason": None,
    }  # fmt: skip
    assert closing["proposed_by"]["email"] == "csc_practitioner@example.org"
    assert closing["proposed_at"] is not None
    assert "resolve" not in {a["key"] for a in body["actions"]}  # one proposal at a time
    assert _mail(smtp_server) == [
        ("health_practitioner@example.org", f"{case.reference}: a closing is proposed (resolved): confirm or decline it")
    ]  # fmt: skip

    etag = proposed.headers["ETag"]
    with nothing_written():
        own = api.post(
            f"/cases/{case.id}/closing/confirm", "csc_practitioner", headers={"If-Match": etag}
        )
        assert own.status_code == 403
        assert (
            api.post(f"/cases/{case.id}/closing/confirm", "health_practitioner").status_code == 422
        )
        extra = api.post(
            f"/cases/{case.id}/closing/confirm",
            "health_practitioner",
            {"note": "x"},
            headers={"If-Match": etag},
        )
        assert extra.status_code == 422 and "note" in error_of(extra)["fields"]
        stale = api.post(
            f"/cases/{case.id}/closing/confirm", "health_practitioner", headers={"If-Match": '"1"'}
        )
        assert stale.status_code == 409
    confirmed = api.post(
        f"/cases/{case.id}/closing/confirm", "health_practitioner", headers={"If-Match": etag}
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    closed = confirmed.get_json()
    assert closed["closed"] is True and closed["closing"] is None and closed["step"] is None
    assert closed["outcome"]["kind"] == "resolved" and closed["outcome"]["level"] == "practitioners"
    assert closed["outcome"]["text"] == "CSC assess."
    told = _mail(smtp_server)
    assert ("csc_practitioner@example.org", f"{case.reference}: closed (resolved)") in told
    history = [e["action"] for e in api.get(f"/cases/{case.id}/history", "auditor").get_json()]
    assert history[-2:] == ["closing_proposed", "resolve"]


def test_a_declined_closing_keeps_the_case_at_its_level_and_the_proposer_is_told(
    api: Api, world, now, smtp_server: SmtpServer
) -> None:
    case = new_case(world, now)
    proposed = _take(api, case.id, "resolve", "csc_practitioner")
    _mail(smtp_server)
    etag = proposed.headers["ETag"]
    with nothing_written():
        bare = api.post(
            f"/cases/{case.id}/closing/decline",
            "health_practitioner",
            {},
            headers={"If-Match": etag},
        )
        assert bare.status_code == 422 and "reason" in error_of(bare)["fields"]
        extra = api.post(
            f"/cases/{case.id}/closing/decline", "health_practitioner",
            {"reason": "No.", "outcome": "x"}, headers={"If-Match": etag},
        )  # fmt: skip
        assert extra.status_code == 422 and "outcome" in error_of(extra)["fields"]
    declined = api.post(
        f"/cases/{case.id}/closing/decline", "health_practitioner",
        {"reason": "Health still think a medical is needed."}, headers={"If-Match": etag},
    )  # fmt: skip
    assert declined.status_code == 200, declined.get_json()
    body = declined.get_json()
    assert body["closed"] is False and body["state"] == "practitioners"
    assert body["closing"]["status"] == "declined"
    assert body["closing"]["declined_by"]["email"] == "health_practitioner@example.org"
    assert body["closing"]["reason"] == "Health still think a medical is needed."
    assert body["step"]["ended_at"] is None
    assert _mail(smtp_server) == [
        ("csc_practitioner@example.org", f"{case.reference}: the closing you proposed was declined")
    ]
    with nothing_written():
        again = api.post(
            f"/cases/{case.id}/closing/confirm", "health_practitioner",
            headers={"If-Match": declined.headers["ETag"]},
        )  # fmt: skip
        assert again.status_code == 409
    offered = api.get(f"/cases/{case.id}", "csc_practitioner").get_json()["actions"]
    assert "resolve" in {a["key"] for a in offered}  # it may be proposed again


def test_withdrawing_is_for_the_side_that_raised_it_and_needs_no_agreement(
    api: Api, world, now
) -> None:
    case = new_case(world, now)
    body = {"record": "Sorted.", "outcome": {"text": "Withdrawn."}}
    offered = api.get(f"/cases/{case.id}", "health_practitioner").get_json()["actions"]
    assert "withdraw" not in {a["key"] for a in offered}
    with nothing_written():
        assert _take(api, case.id, "withdraw", "health_practitioner", body).status_code == 403
    withdrawn = _take(api, case.id, "withdraw", "csc_practitioner", body)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["closed"] is True


def test_the_partnerships_decision_stands_on_its_own(api: Api, world, now) -> None:
    case = new_case(world, now)
    for who in ("csc_practitioner", "csc_manager", "csc_lead"):
        assert _take(api, case.id, "escalate", who, {"record": "Up."}).status_code == 200
    decided = _take(api, case.id, "resolve", "partnership")
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["closed"] is True and decided.get_json()["closing"] is None


def test_escalating_ends_a_closing_proposed_at_the_level(api: Api, world, now) -> None:
    case = new_case(world, now)
    _take(api, case.id, "resolve", "csc_practitioner")
    up = _take(api, case.id, "escalate", "health_practitioner", {"record": "Not agreed."})
    assert up.status_code == 200 and up.get_json()["state"] == "managers"
    assert up.get_json()["closing"] is None


def test_a_case_opened_on_version_1_keeps_its_rules(api: Api, world, now) -> None:
    case = new_case(world, now)
    stored = db.session.get(Case, case.id)
    stored.workflow_version = 1  # as a case raised before version 2 was published
    db.session.commit()
    answer = api.get(f"/cases/{case.id}", "health_practitioner").get_json()
    assert answer["workflow"]["version"] == 1
    assert "withdraw" in {a["key"] for a in answer["actions"]}  # either side, on version 1
    resolved = _take(api, case.id, "resolve", "health_practitioner")
    assert resolved.status_code == 200 and resolved.get_json()["closed"] is True
    assert factories.agree(now, case.id).closed
