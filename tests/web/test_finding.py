"""Finding a case: search by either reference, scoped; oversight opens cases; who acts now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.extensions import db
from resolution.models import AccessLog, User
from tests import factories

from .conftest import check_page

Client = Callable[[User], FlaskClient]


def test_search_finds_a_case_by_either_reference_whole_or_its_beginning(
    world, now, as_user: Client
) -> None:
    ours = factories.make_case(world, now, child_ref="CS-551234")
    other = factories.make_case(world, now, child_ref="CS-559999")
    client = as_user(world["csc_practitioner"])
    by_child = client.get("/cases/search?q=cs-5512").get_data(as_text=True)
    check_page(by_child)
    assert "1 case matching" in by_child
    assert f'href="/cases/{ours.id}"' in by_child and other.reference not in by_child
    both = client.get("/cases/search?q=CS-55").get_data(as_text=True)
    assert "2 cases matching" in both
    whole = client.get(f"/cases/search?q={other.reference.lower()}").get_data(as_text=True)
    assert f'href="/cases/{other.id}"' in whole and f'href="/cases/{ours.id}"' not in whole
    start = client.get("/cases/search?q=RC-0000").get_data(as_text=True)
    assert "2 cases matching" in start
    searched = db.session.scalars(
        select(AccessLog.target).where(AccessLog.what == "cases_listed")
    ).all()
    assert "cases?page=1&per_page=50&q=cs-5512" in searched  # each search is access-logged


def test_search_only_finds_the_cases_the_user_may_see(world, now, as_user: Client) -> None:
    case = factories.make_case(world, now, child_ref="CS-700001")
    police = as_user(world["police_practitioner"])
    html = police.get("/cases/search?q=CS-7000").get_data(as_text=True)
    assert "0 cases matching" in html and case.reference not in html
    assert "No case you can see" in html
    auditor = as_user(world["auditor"])
    found = auditor.get("/cases/search?q=CS-7000").get_data(as_text=True)
    assert f'href="/cases/{case.id}"' in found
    assert auditor.get(f"/cases/{case.id}").status_code == 200  # read-only for the auditor


def test_search_refuses_an_empty_or_impossible_reference_with_an_error_summary(
    world, as_user: Client
) -> None:
    client = as_user(world["csc_practitioner"])
    empty = client.get("/cases/search?q=")
    assert empty.status_code == 400
    html = empty.get_data(as_text=True)
    assert "govuk-error-summary" in html and 'href="#q"' in html
    assert client.get("/cases/search?q=" + "A" * 41).status_code == 400
    assert client.get("/cases/search?q=%01").status_code == 400
    assert client.get("/cases/search").status_code == 200  # just the box
    assert as_user(world["admin"]).get("/cases/search?q=RC").status_code == 403


def test_the_outcome_log_links_each_closed_case_and_the_reader_can_open_it(
    world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    factories.resolve(world, now + timedelta(hours=1), case)
    for reader in ("auditor", "partnership"):
        client = as_user(world[reader])
        log = client.get("/outcomes?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
        assert f'href="/cases/{case.id}">{case.reference}</a>' in log
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert "What you can do now" not in page  # closed: nothing to do, read only
        figures = client.get("/figures").get_data(as_text=True)
        assert 'action="/cases/search"' in figures


def test_the_overdue_table_says_who_acts_now_and_how_many_working_days_late(
    app, world, now, as_user: Client, monkeypatch
) -> None:
    # Raised on Monday 2 March 2026: 5 working days, due at 5pm on Monday 9 March.
    case = factories.make_case(world, now)
    client = as_user(world["csc_manager"])
    monkeypatch.setitem(app.config, "WEB_CLOCK_NOW", now + timedelta(days=7, hours=9))  # 6pm
    html = client.get("/overdue").get_data(as_text=True)
    check_page(html)
    assert "Who acts now" in html
    assert "Practitioners of Children&#39;s Social Care, Community Health" in html
    assert "less than 1 working day overdue" in html
    # Thursday 12 March: three working days after the deadline.
    monkeypatch.setitem(app.config, "WEB_CLOCK_NOW", now + timedelta(days=10, hours=1))
    later = client.get("/overdue").get_data(as_text=True)
    assert "3 working days overdue" in later and case.reference in later
