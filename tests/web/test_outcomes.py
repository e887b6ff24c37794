"""The outcome log page, its filters and CSV, and the audit chain's status."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask.testing import FlaskClient

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import User
from resolution.services import cases
from tests import factories

from .conftest import check_page

Client = Callable[[User], FlaskClient]


def closed_case(world, now, **kwargs):
    case = factories.make_case(world, now, **kwargs)
    cases.take_action(
        db.session(),
        service_context(now),
        world[kwargs.get("by", "csc_practitioner")].id,
        case.id,
        "resolve",
        record="Agreed.",
        expected_version=case.version,
        outcome={"text": '=HYPERLINK("x")'},
        learning={"text": "=1+1 talk early", "themes": ["neglect"]},
    )
    return factories.agree(now, case.id)  # the other side confirms


def test_the_auditor_sees_closed_cases_the_chain_status_and_filters(
    world, now, as_user: Client
) -> None:
    health = closed_case(world, now, child_ref="CS-1")
    police = closed_case(
        world,
        now,
        with_agencies=("POLICE",),
        with_people=("police_practitioner",),
        child_ref="CS-2",
    )
    factories.make_case(world, now, child_ref="CS-OPEN")
    client = as_user(world["auditor"])
    html = client.get("/outcomes").get_data(as_text=True)
    check_page(html)
    assert health.reference in html and police.reference in html
    assert "RC-000003" not in html  # still open
    assert "the hash chain is intact" in html
    assert "Neglect" in html
    filtered = client.get("/outcomes?agency=POLICE").get_data(as_text=True)
    assert police.reference in filtered and health.reference not in filtered
    bad = client.get("/outcomes?from=yesterday")
    assert bad.status_code == 400 and 'href="#from-day"' in bad.get_data(as_text=True)


def test_the_csv_download_has_one_row_per_closed_case_and_the_chain_head(
    world, now, as_user: Client
) -> None:
    case = closed_case(world, now)
    response = as_user(world["partnership"]).get("/outcomes.csv?agency=HEALTH")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][-2:] == ["chain_seq", "chain_digest"]
    assert {len(row) for row in table} == {len(table[0])}  # opens as nothing but the table
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["reference"] for row in rows] == [case.reference]
    assert rows[0]["outcome"] == "resolved" and rows[0]["level_code"] == "practitioners"
    assert rows[0]["level"] == "Practitioner to practitioner"  # the name beside the code
    assert rows[0]["theme_codes"] == "neglect" and rows[0]["themes"] == "Neglect"
    assert rows[0]["agency_codes"] == "CSC;HEALTH"
    assert rows[0]["agencies"] == "Children's Social Care;Community Health"


def test_practitioners_cannot_read_the_outcome_log(world, as_user: Client) -> None:
    assert as_user(world["csc_practitioner"]).get("/outcomes.csv").status_code == 403
