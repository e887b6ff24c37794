"""The outcome log's full filters, the figures page with its charts, and the access log page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import real_now, service_context
from resolution.domain.calendar import financial_year
from resolution.extensions import db
from resolution.models import AccessLog, Case, User
from resolution.services import accounts, cases, reports
from resolution.services.core import head
from tests import factories

from .conftest import check_page, csrf_token

Client = Callable[[User], FlaskClient]


def _close(world, now, action: str, by: str, *, themes=(), escalate_by=None, **kw) -> Case:
    """Raise a case, escalate it once if asked, then close it with `action`."""
    case = factories.make_case(world, now, **kw)
    if escalate_by:
        case = cases.take_action(
            db.session(),
            service_context(now),
            world[escalate_by].id,
            case.id,
            "escalate",
            record="Not agreed.",
            expected_version=case.version,
        )
    learning = {"text": "Talk sooner.", "themes": list(themes)} if themes else None
    cases.take_action(
        db.session(),
        service_context(now + timedelta(days=2)),
        world[by].id,
        case.id,
        action,
        record="Settled.",
        expected_version=case.version,
        outcome={"text": "Done."},
        learning=learning,
    )
    return factories.agree(now + timedelta(days=2), case.id)  # the other side confirms


def _fixture(world, now: datetime) -> dict[str, Case]:
    return {
        "resolved": _close(
            world, now, "resolve", "csc_practitioner", themes=("neglect",), child_ref="CS-1"
        ),
        "withdrawn": _close(
            world,
            now,
            "withdraw",
            "csc_practitioner",
            category="assessment",
            child_ref="CS-2",
            with_agencies=("POLICE",),
            with_people=(),
        ),
        "managers": _close(
            world,
            now,
            "resolve",
            "csc_manager",
            themes=("supervision",),
            escalate_by="csc_practitioner",
            child_ref="CS-3",
        ),
    }


def _refs(html: str, made: dict[str, Case]) -> set[str]:
    return {name for name, case in made.items() if case.reference in html}


def test_every_outcome_filter_narrows_the_log(world, now, as_user: Client) -> None:
    made = _fixture(world, now)
    client = as_user(world["auditor"])
    everything = client.get("/outcomes").get_data(as_text=True)
    check_page(everything)
    assert _refs(everything, made) == set(made)
    expectations = {
        "agency=POLICE": {"withdrawn"},
        "category=assessment": {"withdrawn"},
        "level=managers": {"managers"},
        "outcome=withdrawn": {"withdrawn"},
        "theme=supervision": {"managers"},
        "theme=neglect&level=practitioners": {"resolved"},
        "outcome=referred": set(),
    }
    for query, wanted in expectations.items():
        response = client.get(f"/outcomes?{query}")
        assert response.status_code == 200, query
        assert _refs(response.get_data(as_text=True), made) == wanted, query
        exported = client.get(f"/outcomes.csv?{query}").get_data(as_text=True)
        rows = csv.DictReader(io.StringIO(exported.split("# audit chain head")[0]))
        assert {r["reference"] for r in rows} == {made[n].reference for n in wanted}, query


def test_unknown_filter_values_are_errors_that_link_to_their_field(world, as_user: Client) -> None:
    client = as_user(world["partnership"])
    response = client.get("/outcomes?theme=cake&from=2026-05-01&to=2026-04-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'href="#theme"' in html and 'href="#to-day"' in html
    assert client.get("/outcomes.csv?theme=cake").status_code == 400


def test_the_figures_page_has_each_chart_with_its_table_and_the_right_counts(
    world, now, as_user: Client
) -> None:
    _fixture(world, now)
    factories.make_case(world, now, child_ref="CS-OPEN")
    client = as_user(world["partnership"])
    # By default the current financial year: April to March, as annual reports use.
    first, last = financial_year(real_now().astimezone(ZoneInfo("Europe/London")).date())
    default = client.get("/figures").get_data(as_text=True)
    assert f"Period: 1 April {first.year} to 31 March {last.year}." in default
    assert f'name="from-year" type="text" value="{first.year}"' in default
    response = client.get("/figures?from=2025-04-01&to=2026-03-31")  # the cases' year
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert check_page(html).startswith("Annual-report figures")
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img"') == 6
    assert html.count(": the data</caption>") == 6
    # Four raised, three closed: two at level 1 (one resolved, one withdrawn), one at level 2.
    summary = html.split("In brief")[1].split("</dl>")[0]
    assert [v.strip() for v in _cells(summary, "govuk-summary-list__value")][:3] == ["4", "0", "3"]
    by_level = html.split('id="outcomes-by-level"')[1].split("</table>")[0]
    assert _cells(by_level, "govuk-table__cell govuk-table__cell--numeric")[:4] == [
        "1",
        "1",
        "0",
        "2",
    ]
    assert "Supervision" in html and "Neglect" in html
    assert "desc id=" in html  # each chart describes its values for screen readers


def _cells(html: str, cls: str) -> list[str]:
    marker = f'class="{cls}">'
    return [part.split("<")[0].strip() for part in html.split(marker)[1:]]


def test_the_figures_csv_and_period_errors(world, now, as_user: Client) -> None:
    _fixture(world, now)
    client = as_user(world["auditor"])
    day = now.date().isoformat()
    exported = client.get(f"/figures.csv?from={day}&to={day}")
    assert (
        exported.mimetype == "text/csv" and "attachment" in exported.headers["Content-Disposition"]
    )
    text = exported.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.split("# audit chain head")[0])))
    raised = next(r for r in rows if r["figure"] == "disagreements raised")
    assert raised["value"] == "3"
    later = client.get("/figures.csv?from=2099-01-01").get_data(as_text=True)
    assert (
        next(
            r
            for r in csv.DictReader(io.StringIO(later.split("#")[0]))
            if r["figure"] == "disagreements raised"
        )["value"]
        == "0"
    )
    bad = client.get("/figures?from=someday")
    assert bad.status_code == 400 and 'href="#from-day"' in bad.get_data(as_text=True)


def test_views_exports_and_sign_ins_reach_the_access_log_page(
    app, world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    reader = as_user(world["health_practitioner"])
    assert reader.get(f"/cases/{case.id}").status_code == 200
    auditor = as_user(world["auditor"])
    auditor.get("/outcomes.csv")
    auditor.get("/figures.csv")
    stranger = app.test_client()
    token = csrf_token(stranger)
    stranger.post(
        "/sign-in", data={"csrf_token": token, "email": "nobody@example.org", "password": "guess"}
    )
    kinds = set(db.session.scalars(select(AccessLog.what)))
    assert {"case_viewed", "exported", "sign_in_failed"} <= kinds
    page = auditor.get("/access")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert check_page(html).startswith("Who looked at what")
    assert "health_practitioner@example.org" in html and case.reference in html
    assert "nobody@example.org" not in html and "unknown" in html and "sign in failed" in html
    only_views = auditor.get("/access?what=case_viewed").get_data(as_text=True)
    assert case.reference in only_views and "figures?" not in only_views
    by_person = auditor.get("/access?actor=auditor@").get_data(as_text=True)
    assert "health_practitioner@example.org" not in by_person and "auditor@example.org" in by_person
    assert auditor.get("/access?on=2001-01-01").get_data(as_text=True).count("Nothing matches") == 1
    assert auditor.get("/access?on=nonsense").status_code == 400


def test_only_auditors_read_the_access_log_and_practitioners_no_figures(
    world, as_user: Client
) -> None:
    assert as_user(world["partnership"]).get("/access").status_code == 403
    assert as_user(world["csc_lead"]).get("/access").status_code == 403
    for path in ("/figures", "/figures.csv"):
        assert as_user(world["csc_practitioner"]).get(path).status_code == 403
    nav = as_user(world["auditor"]).get("/outcomes").get_data(as_text=True)
    assert 'href="/figures"' in nav and 'href="/access"' in nav
    partnership_nav = as_user(world["partnership"]).get("/outcomes").get_data(as_text=True)
    assert 'href="/figures"' in partnership_nav and 'href="/access"' not in partnership_nav


def test_the_access_log_pages_newest_first(world, now, as_user: Client) -> None:
    case = factories.make_case(world, now)
    reader = as_user(world["csc_practitioner"])
    for _ in range(60):
        reader.get(f"/cases/{case.id}")
    auditor = as_user(world["auditor"])
    first = auditor.get("/access?what=case_viewed").get_data(as_text=True)
    assert "60 entries, page 1 of 2" in first and 'rel="next"' in first
    second = auditor.get("/access?what=case_viewed&page=2").get_data(as_text=True)
    assert second.count(case.reference) == 10 and 'rel="prev"' in second


def test_the_closing_dates_filter_the_log_and_its_csv_proves_itself(
    app, world, now, as_user: Client, tmp_path
) -> None:
    """Closed on 4 March and on 11 March (London days): each end of the range is kept."""
    early = _close(world, now, "resolve", "csc_practitioner", child_ref="CS-EARLY")
    late = _close(
        world, now + timedelta(days=7), "resolve", "csc_practitioner", child_ref="CS-LATE"
    )
    client = as_user(world["auditor"])
    expectations = {
        "from=2026-03-04&to=2026-03-04": {early.reference},
        "to=2026-03-10": {early.reference},
        "from=2026-03-05": {late.reference},
        "from=2026-03-04&to=2026-03-11": {early.reference, late.reference},
        "from=2026-03-12": set(),
    }
    for query, wanted in expectations.items():
        html = client.get(f"/outcomes?{query}").get_data(as_text=True)
        assert {r for r in (early.reference, late.reference) if r in html} == wanted, query
        exported = client.get(f"/outcomes.csv?{query}").get_data(as_text=True)
        body = exported.split("# audit chain head")[0]  # the trailer of an empty export
        assert {r["reference"] for r in csv.DictReader(io.StringIO(body))} == wanted, query
        assert reports.read_export_head(exported) == head(db.session)
    saved = tmp_path / "log.csv"
    saved.write_text(client.get("/outcomes.csv?from=2026-03-04").get_data(as_text=True))
    verified = app.test_cli_runner().invoke(args=["audit", "verify", "--since-export", str(saved)])
    assert verified.exit_code == 0, verified.output


def test_periods_are_typed_as_day_month_year_and_a_reversed_one_lists_nothing(
    world, now, as_user: Client
) -> None:
    early = _close(world, now, "resolve", "csc_practitioner", child_ref="CS-EARLY")
    late = _close(
        world, now + timedelta(days=7), "resolve", "csc_practitioner", child_ref="CS-LATE"
    )
    client = as_user(world["auditor"])
    typed = client.get(
        "/outcomes?from-day=5&from-month=3&from-year=2026&to-day=&to-month=&to-year="
    )
    html = typed.get_data(as_text=True)
    assert typed.status_code == 200
    assert late.reference in html and early.reference not in html
    assert 'name="from-day" type="text" value="5"' in html  # the boxes keep what was typed
    assert "outcomes.csv?from=2026-03-05" in html  # the CSV link names the same period
    assert "Children&#39;s Social Care, Community Health" in html  # agencies by name
    for path in ("/outcomes", "/figures"):
        reversed_period = client.get(
            f"{path}?from-day=11&from-month=3&from-year=2026&to-day=4&to-month=3&to-year=2026"
        )
        page = reversed_period.get_data(as_text=True)
        assert reversed_period.status_code == 400, path
        assert "The end date must be the same as or after the start date" in page, path
        assert 'href="#to-day"' in page, path
        assert early.reference not in page and late.reference not in page, path
        assert "Download" not in page, path
    not_a_day = client.get("/figures?from-day=31&from-month=2&from-year=2026")
    assert not_a_day.status_code == 400
    assert "Enter a real start date as day, month and year" in not_a_day.get_data(as_text=True)
    shown = client.get("/figures?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    assert "Period: 1 March 2026 to 31 March 2026." in shown


def test_the_figures_page_shows_hand_computed_times(world, now, as_user: Client) -> None:
    """Closed after 2, 4 and 6 days: median 4, 90th percentile by nearest rank (3rd of 3) 6."""
    for i, days in enumerate((2, 4, 6)):
        case = factories.make_case(world, now, child_ref=f"CS-T{i}")
        cases.take_action(
            db.session(),
            service_context(now + timedelta(days=days)),
            world["csc_practitioner"].id,
            case.id,
            "resolve",
            record="Settled.",
            expected_version=case.version,
            outcome={"text": "Done."},
        )
        factories.agree(now + timedelta(days=days), case.id)
    client = as_user(world["auditor"])
    html = client.get("/figures?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    summary = html.split("In brief")[1].split("</dl>")[0]
    assert [v.strip() for v in _cells(summary, "govuk-summary-list__value")] == [
        "3",
        "0",
        "3",
        "4.0",
        "6.0",
    ]
    # The pairs chart's text alternative names the agencies.
    assert "s Social Care to Community Health: 3" in html
    text = client.get("/figures.csv?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.split("# audit chain head")[0])))
    overall = {
        r["measure"]: r["value"]
        for r in rows
        if r["figure"] == "time to resolution" and r["group"] == "overall"
    }
    assert overall == {"cases": "3", "median_days": "4.0", "p90_days": "6.0"}
    assert {(r["group"], r["value"]) for r in rows if r["figure"] == "pairs of agencies"} == {
        ("CSC to HEALTH", "3")
    }


def _sign_in(client: FlaskClient, email: str, password: str) -> int:
    token = csrf_token(client)
    data = {"csrf_token": token, "email": email, "password": password}
    return client.post("/sign-in", data=data).status_code


def test_sign_ins_failures_throttled_tries_and_case_views_are_each_logged(
    app, world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    sam = accounts.set_password(
        db.session(), service_context(now), world["csc_practitioner"].email, factories.PASSWORD
    )
    browser = app.test_client()
    assert [_sign_in(browser, "Sam.Typo@Example.org", "wrong") for _ in range(4)] == [400] * 4
    assert _sign_in(browser, sam.email, factories.PASSWORD) == 302
    assert browser.get(f"/cases/{case.id}").status_code == 200
    rows = [
        (r.actor, r.what, r.target, r.door, r.user_id)
        for r in db.session.scalars(select(AccessLog).order_by(AccessLog.id))
    ]
    assert rows == [
        *[("unknown", "sign_in_failed", "127.0.0.1", "web", None)] * 3,  # no such account
        (
            "unknown",
            "sign_in_failed",
            "127.0.0.1 (too many attempts: not checked)",
            "web",
            None,
        ),
        (sam.email, "signed_in", "127.0.0.1", "web", sam.id),
        (sam.email, "case_viewed", case.reference, "web", sam.id),
    ]
    failed = as_user(world["auditor"]).get("/access?what=sign_in_failed&actor=unknown")
    html = failed.get_data(as_text=True)
    assert "4 entries" in html and "too many attempts" in html


def test_a_practitioner_cannot_reach_the_oversight_pages_nor_see_them_linked(
    world, as_user: Client
) -> None:
    client = as_user(world["csc_practitioner"])
    for path in ("/outcomes", "/outcomes.csv", "/figures", "/figures.csv", "/access"):
        assert client.get(path).status_code == 403, path
    nav = client.get("/cases").get_data(as_text=True)
    for path in ("/outcomes", "/figures", "/access"):
        assert f'href="{path}"' not in nav, path
    refused = select(AccessLog).where(AccessLog.what.not_in(("case_viewed", "cases_listed")))
    assert db.session.scalar(refused) is None  # only Your cases, read above, is logged


def test_the_access_log_names_each_page_read_with_the_filters_used(world, as_user: Client) -> None:
    auditor = as_user(world["auditor"])
    for path in (
        "/outcomes?from=&to=&agency=police&category=&level=&outcome=withdrawn&theme=",
        "/outcomes.csv?agency=POLICE&outcome=withdrawn",
        "/figures",
        "/figures.csv?from=2026-04-01&to=",
        "/access?actor=&what=&on=",
    ):
        assert auditor.get(path).status_code == 200, path
    rows = [
        (r.what, r.target) for r in db.session.scalars(select(AccessLog).order_by(AccessLog.id))
    ]
    first, last = financial_year(real_now().astimezone(ZoneInfo("Europe/London")).date())
    assert rows == [
        ("outcomes_viewed", "outcomes?agency=POLICE&outcome=withdrawn"),
        ("exported", "outcomes?agency=POLICE&outcome=withdrawn"),
        ("figures_viewed", f"figures?from={first}&to={last}"),  # the financial year
        ("exported", "figures?from=2026-04-01"),
        ("access_log_viewed", "access"),
    ]


def test_the_figures_count_days_open_as_the_outcome_log_does(world, now, as_user: Client) -> None:
    """Raised at 11pm, closed at 1am two days later: 26 hours, but 2 days in the log and figures."""
    late = now.replace(hour=23)  # 11pm in London (UTC in March)
    case = factories.make_case(world, late, child_ref="CS-LATE-NIGHT")
    cases.take_action(
        db.session(), service_context(late + timedelta(hours=26)), world["csc_practitioner"].id,
        case.id, "resolve", record="Settled.", expected_version=case.version,
        outcome={"text": "Done."},
    )  # fmt: skip
    factories.agree(late + timedelta(hours=26), case.id)  # the other agency confirms at once
    client = as_user(world["auditor"])
    query = "from=2026-03-01&to=2026-03-31"
    log = client.get(f"/outcomes.csv?{query}").get_data(as_text=True)
    row = next(csv.DictReader(io.StringIO(log.split("# audit chain head")[0])))
    assert row["days_open"] == "2"
    figures_csv = client.get(f"/figures.csv?{query}").get_data(as_text=True)
    assert "time to resolution,overall,median_days,2.0" in figures_csv
    page = client.get(f"/figures?{query}").get_data(as_text=True)
    assert "Days are counted as the outcome log counts them" in page
    assert "Each share is the steps that passed their deadline" in page
