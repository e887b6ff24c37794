"""The outcome log: one row per closed case, filtered, and its CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from resolution.context import service_context
from resolution.domain import rules
from resolution.extensions import db
from resolution.services import reports
from resolution.services.core import head
from resolution.services.errors import Forbidden, Invalid

from .conftest import Fixture, at


def log(fx: Fixture, app, **filters):
    return reports.outcome_log(db.session(), service_context(), fx.world["auditor"], **filters)


def test_each_closed_case_is_one_row_in_closing_order_with_hand_counted_days(
    app, closed_cases: Fixture
) -> None:
    fx = closed_cases
    rows = log(fx, app)
    by_ref = {r["reference"]: r for r in rows}
    name = {v: k for k, v in fx.refs.items()}
    assert [name[r["reference"]] for r in rows] == [
        "A",
        "C",
        "D",
        "B",
        "E",
    ]  # C and D close together: by reference
    expected = {
        # agencies, category, level, number, outcome, days, working days, overdue, urgent, themes
        "A": (
            ["CSC", "HEALTH"],
            "threshold",
            "practitioners",
            1,
            "resolved",
            2,
            2,
            0,
            False,
            ["neglect", "supervision"],
        ),
        "B": (
            ["CSC", "HEALTH", "POLICE"],
            "information_sharing",
            "managers",
            2,
            "resolved",
            10,
            8,
            1,
            False,
            ["information_sharing"],
        ),
        "C": (["HEALTH", "CSC"], "roles", "practitioners", 1, "withdrawn", 3, 3, 0, False, []),
        "D": (["POLICE", "CSC"], "cp_medical", "leads", 3, "referred", 2, 2, 1, True, ["neglect"]),
        "E": (
            ["CSC", "HEALTH"],
            "threshold",
            "partnership",
            4,
            "resolved",
            14,
            10,
            1,
            False,
            ["multi_agency_working", "neglect"],
        ),
    }
    for key, want in expected.items():
        row = by_ref[fx.refs[key]]
        got = (
            row["agencies"],
            row["category"],
            row["level"],
            row["level_number"],
            row["outcome"],
            row["days_open"],
            row["working_days_open"],
            row["steps_overdue"],
            row["urgent"],
            row["themes"],
        )
        assert got == want, key
    assert by_ref[fx.refs["B"]]["opened"] == at(2, 10) and by_ref[fx.refs["B"]]["closed"] == at(
        12, 10
    )
    assert fx.refs["F"] not in by_ref  # still open


@pytest.mark.parametrize(
    ("filters", "cases"),
    [
        ({"date_from": date(2026, 3, 6), "date_to": date(2026, 3, 12)}, ["C", "D", "B"]),
        ({"date_to": date(2026, 3, 5)}, ["A"]),
        ({"agency": "police"}, ["D", "B"]),
        ({"category": "threshold"}, ["A", "E"]),
        ({"level": "managers"}, ["B"]),
        ({"outcome": "withdrawn"}, ["C"]),
        ({"outcome": "referred"}, ["D"]),
        ({"theme": "neglect"}, ["A", "D", "E"]),
        ({"agency": "HEALTH", "outcome": "resolved", "theme": "neglect"}, ["A", "E"]),
    ],
)
def test_filters_narrow_the_log(
    app, closed_cases: Fixture, filters: dict, cases: list[str]
) -> None:
    names = {v: k for k, v in closed_cases.refs.items()}
    assert [names[r["reference"]] for r in log(closed_cases, app, **filters)] == cases


def test_dates_are_london_days_in_summer_time(app, world) -> None:
    from resolution.context import service_context
    from resolution.services import cases
    from tests import factories

    raised = factories.make_case(world, at(30))
    # 23:30 UTC on 31 March is 00:30 on 1 April in London (BST).
    late = at(31, 23).replace(minute=30)
    cases.take_action(
        db.session(),
        service_context(late),
        world["csc_practitioner"].id,
        raised.id,
        "resolve",
        record="agreed",
        expected_version=None,
        outcome={"text": "agreed"},
    )
    factories.agree(late, raised.id)  # Health confirms at once
    auditor = world["auditor"]
    ctx = service_context()
    assert reports.outcome_log(db.session(), ctx, auditor, date_to=date(2026, 3, 31)) == []
    rows = reports.outcome_log(db.session(), ctx, auditor, date_from=date(2026, 4, 1))
    assert [r["days_open"] for r in rows] == [
        2
    ]  # Monday 30 March to Wednesday 1 April, London dates


def test_only_auditors_and_the_partnership_read_the_log(app, closed_cases: Fixture) -> None:
    ctx = service_context()
    for name in ("csc_practitioner", "health_manager", "csc_lead", "admin"):
        with pytest.raises(Forbidden):
            reports.outcome_log(db.session(), ctx, closed_cases.world[name])
    assert len(reports.outcome_log(db.session(), ctx, closed_cases.world["partnership"])) == 5


def test_unknown_filter_values_are_refused_by_name(app, closed_cases: Fixture) -> None:
    with pytest.raises(Invalid) as refused:
        log(closed_cases, app, outcome="lost")
    assert "outcome" in refused.value.fields
    with pytest.raises(Invalid) as refused:
        log(closed_cases, app, date_from=date(2026, 4, 2), date_to=date(2026, 4, 1))
    assert "date_from" in refused.value.fields


def test_csv_is_a_table_with_names_codes_and_the_chain_head_on_every_row(
    app, closed_cases: Fixture
) -> None:
    rows = log(closed_cases, app)
    chain_head = head(db.session)
    text = reports.outcome_csv(rows, chain_head)
    assert not [line for line in text.splitlines() if line.startswith("#")]  # only the table
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0]) == [column for column, _ in reports.CSV_COLUMNS] + [
        "chain_seq",
        "chain_digest",
    ]
    assert {(r["chain_seq"], r["chain_digest"]) for r in table} == {
        (str(chain_head[0]), chain_head[1])
    }
    assert [r["reference"] for r in table] == [r["reference"] for r in rows]
    b = next(r for r in table if r["reference"] == closed_cases.refs["B"])
    assert (
        b["agency_codes"] == "CSC;HEALTH;POLICE"
        and b["working_days_open"] == "8"
        and b["urgent"] == "no"
    )
    # Names beside codes, each in its own column.
    assert b["agencies"].split(";")[0] == b["raising_agency"] != b["raising_agency_code"]
    assert b["category"] == rules.CATEGORIES[b["category_code"]]
    assert b["level_code"] and b["level"] and b["level"] != b["level_code"]
    # London local times to the second: 10am GMT in March, and an hour on in summer time.
    assert b["opened_london"] == "2026-03-02 10:00:00"
    summer = reports.table_csv(("at",), [{"at": datetime(2026, 7, 1, 9, 30, 5, 123456, UTC)}], None)
    assert summer.splitlines()[1] == "2026-07-01 10:30:05"
    assert reports.read_export_head(text) == chain_head and chain_head[0] > 0
    empty = reports.outcome_csv([], chain_head)  # no row to carry the head: a trailer does
    assert empty.splitlines()[0].startswith("reference,") and "chain_seq" not in empty
    assert reports.read_export_head(empty) == chain_head


def test_a_json_export_head_is_read_too() -> None:
    digest = "ab" * 32
    assert reports.read_export_head(
        json.dumps({"items": [], "audit_head": {"seq": 7, "digest": digest}})
    ) == (7, digest)
    with pytest.raises(ValueError, match="no audit chain head"):
        reports.read_export_head("reference,workflow\n")


def test_a_cell_that_starts_like_a_formula_is_defused() -> None:
    text = reports.table_csv(("a",), [{"a": "=HYPERLINK(1)"}], None)
    assert text.splitlines()[1] == "'=HYPERLINK(1)"
