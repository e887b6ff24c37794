"""Extreme days, page numbers and control characters on the pages: 400, the field named, nothing written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from resolution.context import real_now
from resolution.domain import rules
from resolution.models import User
from tests import factories
from tests.api.conftest import nothing_written

from .conftest import check_page, csrf_token

Client = Callable[[User], FlaskClient]
OUT_OF_RANGE = ["9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01"]


@pytest.fixture
def case(world, now):
    return factories.make_case(world, now)


def post(client: FlaskClient, path: str, data: dict):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def _refused(response, field: str, message: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:500]
    assert check_page(html).startswith("Error:")
    assert f'href="#{field}' in html and message in html, field  # a day: its first box


@pytest.mark.parametrize("day", OUT_OF_RANGE)
@pytest.mark.parametrize("field", ["from", "to"])
def test_days_past_the_years_taken_are_errors_on_the_outcome_log_and_figures(
    world, as_user: Client, day: str, field: str
) -> None:
    client = as_user(world["auditor"])
    for path in ("/outcomes", "/figures"):
        _refused(client.get(f"{path}?{field}={day}"), field, rules.OUT_OF_RANGE)
        assert client.get(f"{path}.csv?{field}={day}").status_code == 400


@pytest.mark.parametrize(
    "query", [*(f"on={day}" for day in OUT_OF_RANGE), "page=99999999999999999999"]
)
def test_the_access_log_refuses_days_and_pages_out_of_range(
    world, as_user: Client, query: str
) -> None:
    field = query.split("=")[0]
    response = as_user(world["auditor"]).get(f"/access?{query}")
    _refused(response, field, rules.OUT_OF_RANGE if field == "on" else str(rules.MAX_PAGE))


def test_the_access_log_refuses_control_characters_in_the_person(world, as_user: Client) -> None:
    _refused(as_user(world["auditor"]).get("/access?actor=a%00b"), "actor", rules.NOT_PRINTABLE)


def test_control_characters_in_the_overdue_filters_are_read_as_any(world, as_user: Client) -> None:
    response = as_user(world["csc_manager"]).get("/overdue?level=a%00b&agency=%00")
    assert response.status_code == 200


def _day(value: str) -> list[str]:
    year, month, day = value.split("-")
    return [day, month, year]


@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_day_boxes_past_the_years_taken_are_errors_and_write_nothing(
    world, case, as_user: Client, day: str
) -> None:
    client = as_user(world["health_practitioner"])
    with nothing_written():
        record = post(
            client,
            f"/cases/{case.id}/records/new",
            {"kind": "action", "text": "Send it.", "action_due": _day(day)},
        )
        timescale = post(
            client, f"/cases/{case.id}/timescale", {"due": _day(day), "reason": "Because."}
        )
    _refused(record, "action_due-day", rules.OUT_OF_RANGE)
    _refused(timescale, "due-day", rules.OUT_OF_RANGE)
    raiser = as_user(world["csc_practitioner"])
    post(raiser, "/raise/risk", {"risk": "yes"})
    referral = post(
        raiser, "/raise/referral", {"referred_to": "The front door", "referral_date": _day(day)}
    )
    _refused(referral, "referral_date-day", rules.OUT_OF_RANGE)


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f"])
def test_control_characters_are_refused_in_the_text_fields_and_write_nothing(
    world, case, as_user: Client, control: str
) -> None:
    bad = f"Before{control}after"
    client = as_user(world["health_practitioner"])
    due = factories.working_day(real_now(), 9).date().isoformat()
    with nothing_written():
        answers = {
            "text": post(client, f"/cases/{case.id}/records/new", {"kind": "note", "text": bad}),
            "reason": post(
                client, f"/cases/{case.id}/timescale", {"due": _day(due), "reason": bad}
            ),
            "record": post(
                as_user(world["csc_practitioner"]),
                f"/cases/{case.id}/actions/escalate",
                {"record": bad, "version": str(case.version)},
            ),
        }
    raiser = as_user(world["csc_practitioner"])
    post(raiser, "/raise/risk", {"risk": "yes"})
    answers["referred_to"] = post(
        raiser, "/raise/referral", {"referred_to": bad, "referral_date": _day(due)}
    )
    post(raiser, "/raise/risk", {"risk": "no"})
    post(raiser, "/raise/agencies", {"agencies": ["HEALTH"]})
    answers["summary"] = post(
        raiser,
        "/raise/about",
        {"workflow": "leeds-pcrp", "child_ref": "CS-1234", "category": "other", "summary": bad},
    )
    admin = as_user(world["admin"])
    answers["name"] = post(admin, "/admin/agencies/new", {"code": "FIRE", "name": bad})
    for field, response in answers.items():
        _refused(response, field, rules.NOT_PRINTABLE)


def test_tabs_and_line_breaks_are_taken(world, case, as_user: Client) -> None:
    client = as_user(world["health_practitioner"])
    response = post(
        client, f"/cases/{case.id}/records/new", {"kind": "note", "text": "One\tcell\r\nTwo"}
    )
    assert response.status_code == 302


def test_control_characters_at_sign_in_are_refused_before_any_look_up(app, world) -> None:
    client = app.test_client()
    response = post(client, "/sign-in", {"email": "a\x00@example.org", "password": "x" * 12})
    _refused(response, "email", rules.NOT_PRINTABLE)


def test_control_characters_in_the_password_forms_are_refused(app, world, as_user: Client) -> None:
    forgotten = post(app.test_client(), "/sign-in/forgotten", {"email": "a\x00@example.org"})
    _refused(forgotten, "email", rules.NOT_PRINTABLE)
    client = as_user(world["csc_practitioner"])
    changed = post(client, "/account/password", {"current": "x\x00" * 6, "password": "y\x00" * 6})
    _refused(changed, "current", rules.NOT_PRINTABLE)
