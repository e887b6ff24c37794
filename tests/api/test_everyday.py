"""The everyday steps through the API: agreed actions done or withdrawn, timescales declined,
each answering as API.md says, refusing unknown fields and writing nothing when it refuses,
and each step's e-mails caught by a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

from resolution.context import real_now, service_context
from resolution.domain.calendar import spoken_day
from resolution.extensions import db
from resolution.services import cases
from resolution.services.mailer import send_pending
from resolution.services.sweep import sweep
from tests.scheduler.conftest import SmtpServer

from .. import factories
from .conftest import Api, error_of, new_case, nothing_written

ENDED_KEYS = {"done_at", "done_by", "withdrawn_at", "withdrawn_by", "withdrawn_reason"}


def _drain(smtp: SmtpServer) -> None:
    send_pending(db.session(), service_context(real_now()), smtp.settings)
    smtp.mailbox.clear()


def _mail(smtp: SmtpServer) -> list[tuple[str, str, str]]:
    send_pending(db.session(), service_context(real_now()), smtp.settings)
    return sorted((m.to, m.subject, m.body) for m in smtp.mailbox.items)


def _action(world, now, case_id: int, due_in: timedelta = timedelta(days=2)) -> int:
    record = cases.add_record(
        db.session(),
        service_context(now),
        world["csc_practitioner"].id,
        case_id,
        kind="action",
        text="Send the chronology.",
        action_due=now + due_in,
    )
    return record.id


def test_an_action_marked_done_says_when_and_by_whom_and_is_never_flagged_overdue(
    api: Api, world, now, smtp_server: SmtpServer
) -> None:
    case = new_case(world, now)
    record_id = _action(world, now, case.id)
    listed = api.get(f"/cases/{case.id}", "csc_practitioner").get_json()["records"][0]
    assert set(listed) >= ENDED_KEYS and all(listed[k] is None for k in ENDED_KEYS)
    _drain(smtp_server)
    with nothing_written():
        assert api.post(f"/records/{record_id}/done", "csc_manager", {}).status_code == 403
        unknown = api.post(f"/records/{record_id}/done", "csc_practitioner", {"notes": "x"})
        assert unknown.status_code == 422 and "notes" in error_of(unknown)["fields"]
        assert api.post(f"/records/{record_id}/done", "police_lead", {}).status_code == 404

    done = api.post(f"/records/{record_id}/done", "health_practitioner", {"note": "Sent."})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["id"] == record_id and body["done_at"] is not None
    assert body["done_by"]["email"] == "health_practitioner@example.org"
    assert body["done_note"] == "Sent." and body["withdrawn_at"] is None
    assert body["overdue"] is False
    with nothing_written():
        again = api.post(f"/records/{record_id}/withdraw", "csc_practitioner", {"reason": "No."})
        assert again.status_code == 409 and "already done" in error_of(again)["message"]
    mail = _mail(smtp_server)
    assert [m[0] for m in mail] == ["csc_practitioner@example.org"]
    assert mail[0][1] == f"{case.reference}: an agreed action is done"
    assert "Send the chronology" not in mail[0][2]  # the record's text stays on the case

    late = service_context(now + timedelta(days=3))
    assert sweep(db.session(), late).actions_overdue == 0


def test_an_action_withdrawn_needs_a_reason_and_is_no_longer_flagged(api: Api, world, now) -> None:
    case = new_case(world, now)
    record_id = _action(world, now, case.id)
    note = cases.add_record(
        db.session(), service_context(now), world["csc_practitioner"].id, case.id,
        kind="note", text="A note.",
    )  # fmt: skip
    with nothing_written():
        missing = api.post(f"/records/{record_id}/withdraw", "csc_practitioner", {})
        assert missing.status_code == 422 and "reason" in error_of(missing)["fields"]
        extra = {"reason": "x", "note": "y"}
        unknown = api.post(f"/records/{record_id}/withdraw", "csc_practitioner", extra)
        assert unknown.status_code == 422 and "note" in error_of(unknown)["fields"]
        assert (
            api.post(
                f"/records/{note.id}/withdraw", "csc_practitioner", {"reason": "x"}
            ).status_code
            == 409
        )
    withdrawn = api.post(
        f"/records/{record_id}/withdraw", "csc_practitioner", {"reason": "Sent by post instead."}
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()
    body = withdrawn.get_json()
    assert body["withdrawn_by"]["email"] == "csc_practitioner@example.org"
    assert body["withdrawn_reason"] == "Sent by post instead." and body["done_at"] is None
    assert sweep(db.session(), service_context(now + timedelta(days=3))).actions_overdue == 0


def test_an_open_action_past_its_date_is_overdue_in_the_answer_and_flagged(
    api: Api, world, now
) -> None:
    case = new_case(world, now)
    record_id = _action(world, now, case.id, timedelta(seconds=2))
    later = service_context(now + timedelta(minutes=1))
    assert sweep(db.session(), later).actions_overdue == 1
    listed = api.get(f"/cases/{case.id}", "csc_practitioner").get_json()["records"]
    assert [r["overdue"] for r in listed if r["id"] == record_id] == [True]


def test_a_proposed_timescale_is_mailed_to_the_other_parties_and_can_be_declined(
    api: Api, world, now, smtp_server: SmtpServer
) -> None:
    case = new_case(world, now)
    _drain(smtp_server)
    due = factories.working_day(now, 10)
    proposed = api.post(
        f"/cases/{case.id}/timescale",
        "csc_practitioner",
        {"due_at": due.isoformat(), "reason": "Waiting for the chronology."},
    )
    assert proposed.status_code == 200, proposed.get_json()
    mail = _mail(smtp_server)
    assert [m[0] for m in mail] == ["health_practitioner@example.org"]
    assert "accept or decline" in mail[0][1] and case.reference in mail[0][1]
    smtp_server.mailbox.clear()

    with nothing_written():
        own = api.post(f"/cases/{case.id}/timescale/decline", "csc_practitioner", {"reason": "x"})
        assert own.status_code == 403
        bare = api.post(f"/cases/{case.id}/timescale/decline", "health_practitioner", {})
        assert bare.status_code == 422 and "reason" in error_of(bare)["fields"]
        extra = {"reason": "x", "due_at": due.isoformat()}
        unknown = api.post(f"/cases/{case.id}/timescale/decline", "health_practitioner", extra)
        assert unknown.status_code == 422 and "due_at" in error_of(unknown)["fields"]

    declined = api.post(
        f"/cases/{case.id}/timescale/decline", "health_practitioner", {"reason": "Too long."}
    )
    assert declined.status_code == 200, declined.get_json()
    step = declined.get_json()["step"]
    assert step["timescale"]["status"] == "declined"
    assert step["timescale"]["declined_by"]["email"] == "health_practitioner@example.org"
    assert step["timescale"]["reason"] == "Too long."
    assert step["due_at"] == proposed.get_json()["step"]["due_at"]  # the date stays as it was
    mail = _mail(smtp_server)
    assert [m[0] for m in mail] == ["csc_practitioner@example.org"]
    assert mail[0][1] == f"{case.reference}: the timescale you proposed was declined"
    assert "Too long" not in mail[0][2]  # the reason stays on the case
    with nothing_written():
        accept = api.post(f"/cases/{case.id}/timescale/accept", "health_practitioner")
        assert accept.status_code == 409


def test_a_due_date_on_a_closed_day_is_refused_naming_the_next_working_day(
    api: Api, world, now
) -> None:
    case = new_case(world, now)
    sunday = factories.closed_day(now)
    with nothing_written():
        refused = api.post(
            f"/cases/{case.id}/timescale",
            "csc_practitioner",
            {"due_at": sunday.isoformat(), "reason": "Leave."},
        )
    assert refused.status_code == 422
    message = error_of(refused)["fields"]["due_at"][0]
    after = factories.working_day(sunday)
    assert message == (
        f"Sunday {spoken_day(sunday.date())} is not a working day: choose a working day, "
        f"such as {after:%A} {spoken_day(after.date())}"
    )
