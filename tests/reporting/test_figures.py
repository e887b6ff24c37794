"""The annual-report figures against counts made by hand from the fixture's table."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from resolution.charts import bar_chart_svg
from resolution.context import service_context
from resolution.extensions import db
from resolution.services import figures, reports
from resolution.services.errors import Forbidden

from .conftest import Fixture

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def march(app, closed_cases: Fixture) -> dict:
    return figures.figures(db.session(), service_context(), closed_cases.world["auditor"], *MARCH)


def test_raised_pairs_categories_and_the_urgent_route(march: dict) -> None:
    assert march["raised"] == 6
    assert march["urgent"] == 1
    assert march["pairs"] == [
        {"from": "CSC", "to": "HEALTH", "count": 3},
        {"from": "CSC", "to": "POLICE", "count": 2},
        {"from": "HEALTH", "to": "CSC", "count": 1},
        {"from": "POLICE", "to": "CSC", "count": 1},
    ]
    assert march["categories"] == [
        {"category": "threshold", "count": 2},
        {"category": "roles", "count": 1},
        {"category": "information_sharing", "count": 1},
        {"category": "meetings", "count": 1},
        {"category": "cp_medical", "count": 1},
    ]


def test_closed_at_each_level_by_outcome(march: dict) -> None:
    assert march["closed"] == 5
    assert march["outcomes_by_level"] == [
        {"level": 1, "resolved": 1, "withdrawn": 1, "referred": 0, "total": 2},
        {"level": 2, "resolved": 1, "withdrawn": 0, "referred": 0, "total": 1},
        {"level": 3, "resolved": 0, "withdrawn": 0, "referred": 1, "total": 1},
        {"level": 4, "resolved": 1, "withdrawn": 0, "referred": 0, "total": 1},
    ]


def test_median_and_nearest_rank_90th_percentile_of_days_to_resolution(march: dict) -> None:
    # Days: A 2, C 3, D 2, B 10, E 14 -> sorted 2, 2, 3, 10, 14.
    spans = march["time_to_resolution"]
    assert spans["overall"] == {"cases": 5, "median_days": 3.0, "p90_days": 14.0}
    assert spans["by_level"] == [
        {
            "level": 1,
            "cases": 2,
            "median_days": 2.5,
            "p90_days": 3.0,
        },  # even count: mean of the middle two
        {"level": 2, "cases": 1, "median_days": 10.0, "p90_days": 10.0},
        {"level": 3, "cases": 1, "median_days": 2.0, "p90_days": 2.0},
        {"level": 4, "cases": 1, "median_days": 14.0, "p90_days": 14.0},
    ]


def test_nearest_rank() -> None:
    values = list(range(1, 11))
    assert figures.nearest_rank(values, 90) == 9
    assert figures.nearest_rank(values, 91) == 10
    assert figures.nearest_rank([5.0], 90) == 5.0
    assert figures.nearest_rank([], 90) is None


def test_share_of_steps_that_went_overdue_per_level_and_agency(march: dict) -> None:
    # Ended steps: A1, B1 (late), B2, C1, D1 (late), E1, E2, E3, E4 (late); F1 is still open.
    assert march["overdue_by_level"] == [
        {"level": 1, "steps": 4, "overdue": 1, "share": 0.25},
        {"level": 2, "steps": 2, "overdue": 0, "share": 0.0},
        {"level": 3, "steps": 2, "overdue": 1, "share": 0.5},
        {"level": 4, "steps": 1, "overdue": 1, "share": 1.0},
    ]
    assert march["overdue_by_agency"] == [
        {"agency": "CSC", "steps": 9, "overdue": 3, "share": 0.3333},
        {"agency": "HEALTH", "steps": 8, "overdue": 2, "share": 0.25},
        {"agency": "POLICE", "steps": 3, "overdue": 2, "share": 0.6667},
    ]


def test_learning_themes_with_counts(march: dict) -> None:
    assert march["themes"] == [
        {"theme": "neglect", "count": 3},
        {"theme": "information_sharing", "count": 1},
        {"theme": "multi_agency_working", "count": 1},
        {"theme": "supervision", "count": 1},
    ]


def test_a_shorter_period_counts_only_what_fell_in_it(app, closed_cases: Fixture) -> None:
    first_week = figures.figures(
        db.session(),
        service_context(),
        closed_cases.world["partnership"],
        date(2026, 3, 2),
        date(2026, 3, 6),
    )
    assert (
        first_week["raised"] == 5 and first_week["closed"] == 3
    )  # F raised on the 9th; A, C, D closed
    assert [i["level"] for i in first_week["outcomes_by_level"]] == [1, 3]
    assert first_week["time_to_resolution"]["overall"] == {
        "cases": 3,
        "median_days": 2.0,
        "p90_days": 3.0,
    }


def test_only_readers_get_figures(app, closed_cases: Fixture) -> None:
    with pytest.raises(Forbidden):
        figures.figures(db.session(), service_context(), closed_cases.world["csc_lead"], *MARCH)


def test_figures_csv_has_one_row_per_figure_and_the_chain_head(march: dict) -> None:
    text = figures.figures_csv(march, (42, "c" * 64))
    body = [line for line in text.splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(body))))
    find = {(r["figure"], r["group"], r["measure"]): r["value"] for r in rows}
    assert find[("disagreements raised", "", "count")] == "6"
    assert find[("pairs of agencies", "CSC to HEALTH", "count")] == "3"
    assert find[("closed at each level", "level 3", "referred")] == "1"
    assert find[("time to resolution", "overall", "p90_days")] == "14.0"
    assert find[("steps overdue by agency", "POLICE", "share")] == "0.6667"
    assert find[("learning themes", "neglect", "count")] == "3"
    assert reports.read_export_head(text) == (42, "c" * 64)
    assert "#" not in text  # nothing but the table: the head rides in its last two columns


def test_every_chart_is_an_image_with_title_description_and_written_values(march: dict) -> None:
    series = figures.chart_series(march)
    assert {title for title, _ in series} >= {"Disagreements by category", "Learning themes"}
    for title, rows in series:
        svg = ET.fromstring(bar_chart_svg(title, rows))  # noqa: S314 - our own output
        assert svg.get("role") == "img"
        assert svg.find(f"{SVG}title").text == title
        desc = svg.find(f"{SVG}desc").text
        texts = [t.text for t in svg.iter(f"{SVG}text")]
        for label, value in rows:
            assert f"{label}: " in desc
            assert label in texts and any(t == f"{value:g}" or t == f"{value:.1f}" for t in texts)
        ids = svg.get("aria-labelledby").split()
        assert [svg.find(f"{SVG}title").get("id"), svg.find(f"{SVG}desc").get("id")] == ids


def test_a_chart_escapes_its_labels_and_says_when_empty() -> None:
    svg = bar_chart_svg("A <b> & C", [("<script>", 1)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "No data for this period" in bar_chart_svg("Nothing", [])
