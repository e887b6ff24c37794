"""The outcome log's rows for the page and its CSV, until services.reports provides them.

Each row is one closed case: reference, agencies, category, the level it was
closed at, the outcome, days open, steps that went overdue and learning themes.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from ..domain import rules
from ..extensions import db
from ..models import Agency, Case, CaseAgency
from ..services import queries
from ..services.core import Context

COLUMNS = [
    "reference",
    "workflow",
    "raised_at",
    "closed_at",
    "agencies",
    "raised_by_agency",
    "category",
    "level_reached",
    "outcome",
    "days_open",
    "steps_overdue",
    "themes",
    "learning",
]


def rows(
    ctx: Context, user: Any, start: date | None, end: date | None, agency: str | None
) -> list[dict[str, Any]]:
    """Return the closed cases the user may see, newest first, filtered by date and agency."""
    query = queries.visible_cases(user).where(Case.closed.is_(True))
    if start:
        query = query.where(Case.closed_at >= datetime.combine(start, time(0), tzinfo=UTC))
    if end:
        query = query.where(
            Case.closed_at < datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC)
        )
    if agency:
        query = query.where(
            Case.id.in_(
                select(CaseAgency.case_id)
                .join(Agency, Agency.id == CaseAgency.agency_id)
                .where(Agency.code == agency)
            )
        )
    out = []
    for case in db.session.scalars(query.order_by(Case.closed_at.desc(), Case.id.desc())):
        definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
        level = case.outcome_level or ""
        overdue = sum(
            1
            for s in case.steps
            if s.went_overdue
            or s.overdue_at is not None
            or (s.ended_at is not None and s.ended_at > s.due_at)
        )
        assert case.closed_at is not None  # noqa: S101 - closed cases have a closing time
        out.append(
            {
                "reference": case.reference,
                "workflow": f"{case.workflow_key} v{case.workflow_version}",
                "raised_at": case.raised_at,
                "closed_at": case.closed_at,
                "agencies": [ca.agency.code for ca in case.agencies],
                "agency_names": [ca.agency.name for ca in case.agencies],
                "raised_by_agency": next(
                    (ca.agency.code for ca in case.agencies if ca.raising), ""
                ),
                "category": case.category,
                "category_words": rules.CATEGORIES.get(case.category, case.category),
                "level_reached": level,
                "level_words": (
                    f"{definition.level_word.capitalize()} {definition.level_number(level)}: "
                    f"{definition.level(level).title}"
                )
                if level in definition.level_index
                else level,
                "outcome": case.outcome_kind or "",
                "days_open": round((case.closed_at - case.raised_at).total_seconds() / 86400, 1),
                "steps_overdue": overdue,
                "themes": [t.theme for t in case.themes],
                "theme_words": [rules.THEMES.get(t.theme, t.theme) for t in case.themes],
                "learning": case.learning_text or "",
            }
        )
    return out


def to_csv(items: list[dict[str, Any]]) -> str:
    """Return the rows as CSV text with a header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in items:
        writer.writerow(
            [
                ";".join(row[c])
                if isinstance(row[c], list)
                else row[c].isoformat()
                if isinstance(row[c], datetime)
                else _safe(row[c])
                for c in COLUMNS
            ]
        )
    return buffer.getvalue()


def _safe(value: Any) -> Any:
    """Keep spreadsheet programs from running text that starts like a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
