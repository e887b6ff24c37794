"""The everyday steps on the case page: open actions with owner and due date, marked done or
withdrawn, a proposed timescale declined, a Sunday refused; each offered to exactly those
the service lets take it."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.models import Record, Step, User
from resolution.services import action_items, cases, closing, timescales
from tests import factories

from .conftest import check_page, csrf_token
from .test_one_rule import PEOPLE, _try

Client = Callable[[User], FlaskClient]


def _page(client: FlaskClient, case_id: int) -> str:
    response = client.get(f"/cases/{case_id}")
    return response.get_data(as_text=True) if response.status_code == 200 else ""


def _post(client: FlaskClient, path: str, data: dict, token_from: str):
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **data})


def _action(world, case_id: int) -> Record:
    now = real_now()
    return cases.add_record(
        db.session(),
        service_context(now),
        world["csc_practitioner"].id,
        case_id,
        kind="action",
        text="Send the chronology.",
        action_due=factories.working_day(now, 3),
    )


def test_open_actions_are_listed_with_owner_and_due_date_and_ended_by_exactly_those_allowed(
    world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    record = _action(world, case.id)
    page = _page(as_user(world["health_practitioner"]), case.id)
    check_page(page)
    assert (
        "Open actions" in page
        and '<td class="govuk-table__cell app-record-text">Send the chronology.</td>' in page
    )
    assert "Csc Practitioner (Children&#39;s Social Care)" in page  # the owner
    offered = {
        name: f"/records/{record.id}/done" in _page(as_user(world[name]), case.id)
        for name in PEOPLE
    }
    assert offered["csc_practitioner"] and offered["health_practitioner"]
    assert not offered["csc_manager"] and not offered["auditor"]
    ctx = service_context(real_now())
    for name in sorted(PEOPLE, key=lambda n: offered[n]):  # the refused first: they write nothing
        allowed = _try(action_items.mark_done, ctx, world[name].id, record.id)
        assert allowed == offered[name], name
        if allowed:
            break


def test_an_action_is_marked_done_with_a_note_and_another_withdrawn_with_a_reason(
    world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    first, second = _action(world, case.id), _action(world, case.id)
    priya = as_user(world["health_practitioner"])
    done_page = f"/cases/{case.id}/records/{first.id}/done"
    check_page(priya.get(done_page).get_data(as_text=True))
    answer = _post(priya, done_page, {"text": "Sent by e-mail."}, done_page)
    assert answer.status_code == 302
    withdraw_page = f"/cases/{case.id}/records/{second.id}/withdraw"
    refused = _post(priya, withdraw_page, {"text": ""}, withdraw_page)
    assert refused.status_code == 400
    assert "There is a problem" in refused.get_data(as_text=True)
    assert "Enter the reason" in refused.get_data(as_text=True)
    assert (
        _post(priya, withdraw_page, {"text": "Not needed now."}, withdraw_page).status_code == 302
    )
    page = _page(priya, case.id)
    assert "Done: marked by Health Practitioner" in page and "Sent by e-mail." in page
    assert "Withdrawn by Health Practitioner" in page and "Not needed now." in page
    assert "No agreed action is open." in page
    assert priya.get(done_page).status_code == 404  # nothing left to mark
    stored = db.session.scalars(select(Record).where(Record.kind == "action")).all()
    assert all(r.action_done_at or r.action_withdrawn_at for r in stored)


def test_decline_is_offered_to_exactly_those_the_service_lets_decline(
    world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    timescales.propose_timescale(
        db.session(),
        service_context(real_now()),
        world["health_practitioner"].id,
        case.id,
        due_at=factories.working_day(real_now(), 10),
        reason="Leave.",
    )
    shown = {
        name: "Decline the proposed timescale" in _page(as_user(world[name]), case.id)
        for name in PEOPLE
    }
    assert shown["csc_practitioner"] and not shown["health_practitioner"]
    ctx = service_context(real_now())
    for name in sorted(PEOPLE, key=lambda n: shown[n]):
        allowed = _try(timescales.decline_timescale, ctx, world[name].id, case.id, reason="No.")
        assert allowed == shown[name], name
        if allowed:
            break


def test_a_timescale_declined_on_its_page_says_so_on_the_case(world, now, as_user: Client) -> None:
    case = factories.make_case(world, now)
    timescales.propose_timescale(
        db.session(),
        service_context(real_now()),
        world["health_practitioner"].id,
        case.id,
        due_at=factories.working_day(real_now(), 10),
        reason="Leave.",
    )
    sam = as_user(world["csc_practitioner"])
    path = f"/cases/{case.id}/timescale/decline"
    form = sam.get(path).get_data(as_text=True)
    check_page(form)
    assert "Proposed by Health Practitioner" in form
    answer = _post(sam, path, {"text": "The chronology is ready now.", "version": "2"}, path)
    assert answer.status_code == 302
    page = _page(sam, case.id)
    assert (
        "was declined by Csc Practitioner; the due date stays as it was. Their reason: The chronology is ready now."
        in page
    )
    assert "Declined. " in page
    assert as_user(world["health_practitioner"]).get(path).status_code == 403


def test_a_sunday_proposed_on_the_page_is_refused_and_the_page_says_why(
    world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    sam = as_user(world["csc_practitioner"])
    sunday = factories.closed_day(real_now()).date()
    path = f"/cases/{case.id}/timescale"
    answer = _post(
        sam,
        path,
        {"due": [str(sunday.day), str(sunday.month), str(sunday.year)], "reason": "Leave."},
        path,
    )
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "There is a problem" in text and "is not a working day: choose a working day" in text
    db.session.expire_all()
    assert db.session.scalar(select(Step.timescale_status)) == "default"  # nothing written


def test_confirm_and_decline_of_a_closing_are_offered_to_exactly_those_allowed(
    world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    cases.take_action(
        db.session(), service_context(real_now()), world["csc_practitioner"].id, case.id,
        "resolve", record="Agreed.", expected_version=case.version, outcome={"text": "A plan."},
    )  # fmt: skip
    page = _page(as_user(world["csc_practitioner"]), case.id)
    assert "A closing is proposed" in page and "Record that it is resolved" in page
    shown = {
        name: "Confirm: record that it is resolved" in _page(as_user(world[name]), case.id)
        for name in PEOPLE
    }
    assert shown["health_practitioner"] and not shown["csc_practitioner"]
    waiting = as_user(world["health_practitioner"]).get("/cases").get_data(as_text=True)
    assert "a proposed closing needs your answer" in waiting
    declines = as_user(world["health_practitioner"]).get(f"/cases/{case.id}/closing/decline")
    check_page(declines.get_data(as_text=True))
    assert (
        as_user(world["csc_practitioner"]).get(f"/cases/{case.id}/closing/decline").status_code
        == 403
    )
    ctx = service_context(real_now())
    for name in sorted(PEOPLE, key=lambda n: shown[n]):
        allowed = _try(closing.decline_closing, ctx, world[name].id, case.id, reason="No.")
        assert allowed == shown[name], name
        if allowed:
            break
    page = _page(as_user(world["csc_practitioner"]), case.id)
    assert "The proposed closing was declined" in page and "By Health Practitioner" in page
