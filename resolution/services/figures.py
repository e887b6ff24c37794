"""The partnership's annual-report figures for a period, from table fields only.

Which cases each figure counts (dates are Europe/London days, both ends kept):
- raised, pairs of agencies, categories, immediate-risk route: cases *raised* in the period;
- closed at each level, time to resolution, learning themes: cases *closed* in the period;
- steps that went overdue: steps that *ended* in the period (an open step's outcome is not
  known yet). A step counts for every agency involved in its case.
Levels are counted by position (level 1 is the first level of the case's own process), so
cases on different definitions add up. Time to resolution is the outcome log's days open
(`reports.days_open`: London calendar days from the day raised to the day closed). The median is the usual one (the mean of the two middle
values when there is an even number); the 90th percentile is by nearest rank: the value at
rank ceil(0.9 x n) of the sorted list.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import rules
from ..models import Case, Step, User
from . import access
from .core import Context, head
from .reports import (
    days_open,
    local_bounds,
    ordered_agencies,
    require_reader,
    table_csv,
    went_overdue,
)

FIGURE_COLUMNS = ("figure", "group", "measure", "value")


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """Return the nearest-rank percentile of some values (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _spread(values: list[float]) -> dict[str, Any]:
    return {
        "cases": len(values),
        "median_days": round(float(statistics.median(values)), 2) if values else None,
        "p90_days": round(float(nearest_rank(values, 90) or 0), 2) if values else None,
    }


def _between(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    conditions = [column.is_not(None)]
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def _share(
    counts: Mapping[Any, list[int]], key_name: str, keys: Iterable[Any]
) -> list[dict[str, Any]]:
    out = []
    for key in keys:
        steps, overdue = counts[key]
        out.append(
            {
                key_name: key,
                "steps": steps,
                "overdue": overdue,
                "share": round(overdue / steps, 4) if steps else None,
            }
        )
    return out


def figures(
    session: Session, ctx: Context, user: User, date_from: date | None, date_to: date | None
) -> dict[str, Any]:
    """Return the annual-report figures for a period (either end may be open)."""
    workflows = ctx.workflows
    require_reader(user)
    start, end = local_bounds(date_from, date_to)
    raised = list(
        session.scalars(select(Case).where(*_between(Case.raised_at, start, end)).order_by(Case.id))
    )
    closed = list(
        session.scalars(
            select(Case)
            .where(Case.closed.is_(True), *_between(Case.closed_at, start, end))
            .order_by(Case.id)
        )
    )
    steps = list(
        session.scalars(select(Step).where(*_between(Step.ended_at, start, end)).order_by(Step.id))
    )

    pairs: Counter[tuple[str, str]] = Counter()
    for case in raised:
        codes = ordered_agencies(case)
        for other in codes[1:]:
            pairs[(codes[0], other)] += 1
    categories = Counter(case.category for case in raised)

    def number(case: Case) -> int:
        definition = workflows.definition(case.workflow_key, case.workflow_version)
        return definition.level_number(case.outcome_level or definition.initial)

    by_level: dict[int, Counter[str]] = defaultdict(Counter)
    times: dict[int, list[float]] = defaultdict(list)
    themes: Counter[str] = Counter()
    for case in closed:
        level = number(case)
        by_level[level][case.outcome_kind or ""] += 1
        assert case.closed_at is not None
        times[level].append(days_open(case.raised_at, case.closed_at))
        themes.update(t.theme for t in case.themes)

    step_levels: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    step_agencies: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for step in steps:
        definition = workflows.definition(step.case.workflow_key, step.case.workflow_version)
        late = 1 if went_overdue(step, ctx.now) else 0
        tally = step_levels[definition.level_number(step.level)]
        tally[0] += 1
        tally[1] += late
        for code in ordered_agencies(step.case):
            step_agencies[code][0] += 1
            step_agencies[code][1] += late

    all_times = [t for level in sorted(times) for t in times[level]]
    return {
        "period": {"from": date_from, "to": date_to},
        "raised": len(raised),
        "urgent": sum(1 for case in raised if case.urgent),
        "pairs": [
            {"from": a, "to": b, "count": n}
            for (a, b), n in sorted(pairs.items(), key=lambda i: (-i[1], i[0]))
        ],
        "categories": [
            {"category": c, "count": categories[c]} for c in rules.CATEGORIES if categories[c]
        ],
        "closed": len(closed),
        "outcomes_by_level": [
            {
                "level": level,
                **{kind: by_level[level][kind] for kind in rules.OUTCOME_KINDS},
                "total": sum(by_level[level].values()),
            }
            for level in sorted(by_level)
        ],
        "time_to_resolution": {
            "overall": _spread(all_times),
            "by_level": [{"level": level, **_spread(times[level])} for level in sorted(times)],
        },
        "overdue_by_level": _share(step_levels, "level", sorted(step_levels)),
        "overdue_by_agency": _share(step_agencies, "agency", sorted(step_agencies)),
        "themes": [
            {"theme": t, "count": n} for t, n in sorted(themes.items(), key=lambda i: (-i[1], i[0]))
        ],
    }


@dataclass(frozen=True)
class FiguresRead:
    """The figures of a period as one read found them, with the audit chain's head then."""

    figures: dict[str, Any]
    head: tuple[int, str]

    def csv(self) -> str:
        return figures_csv(self.figures, self.head)


def read_figures(
    session: Session,
    ctx: Context,
    user: User,
    date_from: date | None,
    date_to: date | None,
    reading: access.Reading,
) -> FiguresRead:
    """Return the figures of a period with the chain's head, and write the read to the
    access log."""
    chain = head(session)
    found = figures(session, ctx, user, date_from, date_to)
    access.record_access(session, ctx, user, reading.what, reading.target, reading.door)
    return FiguresRead(found, chain)


def figure_rows(figs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the figures as long rows: figure, group, measure, value."""
    rows: list[dict[str, Any]] = []

    def add(figure: str, group: str, measure: str, value: Any) -> None:
        rows.append({"figure": figure, "group": group, "measure": measure, "value": value})

    period = figs["period"]
    add("period", "", "from", period["from"] or "")
    add("period", "", "to", period["to"] or "")
    add("disagreements raised", "", "count", figs["raised"])
    add("immediate-risk route used", "", "count", figs["urgent"])
    for pair in figs["pairs"]:
        add("pairs of agencies", f"{pair['from']} to {pair['to']}", "count", pair["count"])
    for item in figs["categories"]:
        add("categories", item["category"], "count", item["count"])
    add("cases closed", "", "count", figs["closed"])
    for item in figs["outcomes_by_level"]:
        for kind in (*rules.OUTCOME_KINDS, "total"):
            add("closed at each level", f"level {item['level']}", kind, item[kind])
    spans = [("overall", figs["time_to_resolution"]["overall"])]
    spans += [(f"level {i['level']}", i) for i in figs["time_to_resolution"]["by_level"]]
    for group, span in spans:
        for measure in ("cases", "median_days", "p90_days"):
            add("time to resolution", group, measure, span[measure])
    for key, name in (("overdue_by_level", "level"), ("overdue_by_agency", "agency")):
        for item in figs[key]:
            group = f"level {item['level']}" if name == "level" else item["agency"]
            for measure in ("steps", "overdue", "share"):
                add(f"steps overdue by {name}", group, measure, item[measure])
    for item in figs["themes"]:
        add("learning themes", item["theme"], "count", item["count"])
    return rows


def figures_csv(figs: Mapping[str, Any], head: tuple[int, str] | None = None) -> str:
    """Return the figures as CSV (figure, group, measure, value), ending with the chain's head."""
    return table_csv(FIGURE_COLUMNS, figure_rows(figs), head)


def chart_series(
    figs: Mapping[str, Any], agency_names: Mapping[str, str] | None = None
) -> list[tuple[str, list[tuple[str, float]]]]:
    """Return (title, rows) for each chart of the figures page; each also makes its table.
    Agencies are named by `agency_names` (code to name) where it knows them."""
    names = agency_names or {}
    level_words = {i["level"]: f"Level {i['level']}" for i in figs["outcomes_by_level"]}
    return [
        (
            "Disagreements by category",
            [
                (rules.CATEGORIES.get(i["category"], i["category"]), i["count"])
                for i in figs["categories"]
            ],
        ),
        (
            "Disagreements between pairs of agencies",
            [
                (f"{names.get(p['from'], p['from'])} to {names.get(p['to'], p['to'])}", p["count"])
                for p in figs["pairs"]
            ],
        ),
        (
            "Cases closed at each level",
            [(level_words[i["level"]], i["total"]) for i in figs["outcomes_by_level"]],
        ),
        (
            "Median days to resolution by level",
            [
                (f"Level {i['level']}", i["median_days"] or 0)
                for i in figs["time_to_resolution"]["by_level"]
            ],
        ),
        (
            "Share of steps that went overdue by agency (%)",
            [
                (names.get(i["agency"], i["agency"]), round(100 * (i["share"] or 0), 1))
                for i in figs["overdue_by_agency"]
            ],
        ),
        (
            "Learning themes",
            [(rules.THEMES.get(i["theme"], i["theme"]), i["count"]) for i in figs["themes"]],
        ),
    ]
