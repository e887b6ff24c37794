"""The outcome log: one row per closed case, for auditors and the partnership.

Rows are built from table fields only (never the free text), so they read the
same before and after the retention rule redacts a case's words. An export
carries the audit chain's head (event count and digest) at the time it was
made, so `flask --app wsgi audit verify --since-export FILE` can later prove
that the events it was built from are unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func
from sqlalchemy.orm import Session

from ..domain import rules
from ..domain.calendar import working_days_between
from ..domain.machines import Workflows
from ..domain.status import step_status
from ..models import Agency, Case, CaseAgency, CaseTheme, Step, User
from . import access
from .core import Context, head
from .errors import Forbidden, Invalid
from .queries import visible_cases

LONDON = ZoneInfo("Europe/London")
READERS = rules.READERS

COLUMNS = (
    "reference",
    "workflow",
    "agencies",
    "raising_agency",
    "category",
    "level",
    "level_number",
    "outcome",
    "opened",
    "closed",
    "days_open",
    "working_days_open",
    "steps_overdue",
    "urgent",
    "themes",
)

# The CSV's columns and the row keys they come from: a name beside each code, and times as
# London local times to the second.
CSV_COLUMNS = (
    ("reference", "reference"),
    ("workflow", "workflow"),
    ("agencies", "agency_names"),
    ("agency_codes", "agencies"),
    ("raising_agency", "raising_agency_name"),
    ("raising_agency_code", "raising_agency"),
    ("category", "category_name"),
    ("category_code", "category"),
    ("level", "level_name"),
    ("level_code", "level"),
    ("level_number", "level_number"),
    ("outcome", "outcome"),
    ("opened_london", "opened"),
    ("closed_london", "closed"),
    ("days_open", "days_open"),
    ("working_days_open", "working_days_open"),
    ("steps_overdue", "steps_overdue"),
    ("urgent", "urgent"),
    ("themes", "theme_names"),
    ("theme_codes", "themes"),
)

# The audit chain's head at export time rides in two columns of every row, so the file opens
# in a spreadsheet as nothing but its table; an export with no rows carries it in a trailer.
HEAD_COLUMNS = ("chain_seq", "chain_digest")
HEAD_LINE = "# audit chain head: seq={seq} digest={digest}"
HEAD_RE = re.compile(
    r"^#\s*audit chain head:\s*seq=(\d+)\s+digest=([0-9a-f]{64})\s*$", re.MULTILINE
)


def require_reader(user: User) -> None:
    """Refuse anyone but an active auditor or partnership user."""
    if not user.active or user.role not in READERS:
        raise Forbidden("only auditors and the partnership read the outcome log and its figures")


def local_bounds(
    date_from: date | None, date_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """Return the UTC instants that start `date_from` and end `date_to` (excluded) in London."""
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if day is not None and not rules.in_range(day):  # the day after 9999-12-31 overflows
            raise Invalid.field(name, rules.OUT_OF_RANGE)
    if date_from and date_to and date_from > date_to:
        raise Invalid.field("date_from", "must be on or before date_to")
    start = (
        datetime.combine(date_from, time(0), tzinfo=LONDON).astimezone(UTC) if date_from else None
    )
    end = (
        datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)
        if date_to
        else None
    )
    return start, end


def went_overdue(step: Step, now: datetime) -> bool:
    """Say whether a step went past its deadline (flagged by the sweep, ended late, or open
    and overdue at `now`)."""
    return step_status(
        due_at=step.due_at,
        warn_at=step.warn_at,
        ended_at=step.ended_at,
        now=now,
        flagged=step.went_overdue or step.overdue_at is not None,
    ).went_overdue


def days_open(raised_at: datetime, closed_at: datetime) -> int:
    """Count a case's days open as the outcome log and the figures both do: London calendar
    days from the day it was raised to the day it closed."""
    return (closed_at.astimezone(LONDON).date() - raised_at.astimezone(LONDON).date()).days


def _raising_first(case: Case) -> list[CaseAgency]:
    return [ca for ca in case.agencies if ca.raising] + [
        ca for ca in case.agencies if not ca.raising
    ]


def ordered_agencies(case: Case) -> list[str]:
    """Return a case's agency codes, the raising agency first."""
    return [ca.agency.code for ca in _raising_first(case)]


def closed_cases(
    session: Session,
    user: User,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    agency: str | None = None,
    category: str | None = None,
    level: str | None = None,
    outcome: str | None = None,
    theme: str | None = None,
) -> list[Case]:
    """Return the closed cases the reader may see, filtered, by closing time then reference."""
    require_reader(user)
    if category and category not in rules.CATEGORIES:
        raise Invalid.field("category", f"must be one of {', '.join(rules.CATEGORIES)}")
    if outcome and outcome not in rules.OUTCOME_KINDS:
        raise Invalid.field("outcome", f"must be one of {', '.join(rules.OUTCOME_KINDS)}")
    if theme and theme not in rules.THEMES:
        raise Invalid.field("theme", f"must be one of {', '.join(rules.THEMES)}")
    start, end = local_bounds(date_from, date_to)
    query = visible_cases(user).where(Case.closed.is_(True))
    if start is not None:
        query = query.where(Case.closed_at >= start)
    if end is not None:
        query = query.where(Case.closed_at < end)
    if agency:
        query = query.where(
            exists().where(
                CaseAgency.case_id == Case.id,
                CaseAgency.agency_id == Agency.id,
                func.upper(Agency.code) == agency.strip().upper(),
            )
        )
    if category:
        query = query.where(Case.category == category)
    if level:
        query = query.where(Case.outcome_level == level)
    if outcome:
        query = query.where(Case.outcome_kind == outcome)
    if theme:
        query = query.where(exists().where(CaseTheme.case_id == Case.id, CaseTheme.theme == theme))
    return list(session.scalars(query.order_by(Case.closed_at, Case.reference)))


def outcome_row(case: Case, workflows: Workflows) -> dict[str, Any]:
    """Return one closed case as a row of the outcome log (table fields only)."""
    definition = workflows.definition(case.workflow_key, case.workflow_version)
    closed_at = case.closed_at
    if closed_at is None:
        raise ValueError(f"case {case.reference} is not closed")
    level = case.outcome_level or ""
    return {
        "id": case.id,  # for the pages' links; neither the CSV nor the API sends it
        "reference": case.reference,
        "workflow": f"{case.workflow_key} v{case.workflow_version}",
        "agencies": ordered_agencies(case),
        "raising_agency": next((ca.agency.code for ca in case.agencies if ca.raising), ""),
        "category": case.category,
        "level": level,
        "level_number": definition.level_number(level) if level in definition.level_index else None,
        "outcome": case.outcome_kind or "",
        "opened": case.raised_at,
        "closed": closed_at,
        "days_open": days_open(case.raised_at, closed_at),
        "working_days_open": working_days_between(case.raised_at, closed_at, definition.calendar),
        "steps_overdue": sum(1 for step in case.steps if went_overdue(step, closed_at)),
        "urgent": bool(case.urgent),
        "themes": sorted(t.theme for t in case.themes),
        # The words beside the codes, for the CSV (the page and the API add their own).
        "agency_names": [ca.agency.name for ca in _raising_first(case)],
        "raising_agency_name": next((ca.agency.name for ca in case.agencies if ca.raising), ""),
        "category_name": rules.CATEGORIES.get(case.category, case.category),
        "level_name": definition.level(level).title if level in definition.level_index else level,
        "theme_names": [
            rules.THEMES.get(t.theme, t.theme) for t in sorted(case.themes, key=lambda t: t.theme)
        ],
    }


def outcome_log(
    session: Session,
    ctx: Context,
    user: User,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    agency: str | None = None,
    category: str | None = None,
    level: str | None = None,
    outcome: str | None = None,
    theme: str | None = None,
) -> list[dict[str, Any]]:
    """Return one row per closed case the user may see, oldest closure first."""
    found = closed_cases(
        session,
        user,
        date_from=date_from,
        date_to=date_to,
        agency=agency,
        category=category,
        level=level,
        outcome=outcome,
        theme=theme,
    )
    return [outcome_row(case, ctx.workflows) for case in found]


def _cell(value: Any) -> Any:
    """Return a value as CSV text, defusing text a spreadsheet would run as a formula."""
    if isinstance(value, datetime):  # London local time to the second, as a spreadsheet reads
        return value.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@dataclass(frozen=True)
class OutcomeRead:
    """The outcome log as one read found it, with the audit chain's head at that read."""

    rows: list[dict[str, Any]]
    head: tuple[int, str]

    def csv(self) -> str:
        return outcome_csv(self.rows, self.head)


def read_outcomes(
    session: Session, ctx: Context, user: User, reading: access.Reading, **filters: Any
) -> OutcomeRead:
    """Return the outcome log (filtered as `outcome_log`) with the chain's head, and write
    the read to the access log."""
    chain = head(session)
    rows = outcome_log(session, ctx, user, **filters)
    access.record_access(session, ctx, user, reading.what, reading.target, reading.door)
    return OutcomeRead(rows, chain)


def head_lines(head: tuple[int, str]) -> list[str]:
    """Return the trailing comment lines that carry the chain's head of an empty export."""
    seq, digest = head
    return [
        HEAD_LINE.format(seq=seq, digest=digest),
        "# check it later with: flask --app wsgi audit verify --since-export THIS_FILE",
    ]


def table_csv(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], head: tuple[int, str] | None
) -> str:
    """Return rows as CSV with a header row, the chain's head (if given) in the last two
    columns of every row, or in trailing comment lines when there is no row to carry it."""
    listed = list(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    carried = head is not None and bool(listed)
    writer.writerow([*columns, *HEAD_COLUMNS] if carried else columns)
    for row in listed:
        cells = [_cell(row.get(c)) for c in columns]
        writer.writerow([*cells, *head] if carried and head is not None else cells)
    if head is not None and not listed:
        for line in head_lines(head):
            buffer.write(line + "\r\n")
    return buffer.getvalue()


def outcome_csv(rows: Iterable[Mapping[str, Any]], head: tuple[int, str]) -> str:
    """Return the outcome log as CSV, ending with the chain's head at export time."""
    named = [{column: row.get(key) for column, key in CSV_COLUMNS} for row in rows]
    return table_csv([column for column, _ in CSV_COLUMNS], named, head)


def head_json(head: tuple[int, str]) -> dict[str, Any]:
    """Return the chain's head as the `audit_head` member of a JSON export."""
    return {"seq": head[0], "digest": head[1]}


def _columns_head(text: str) -> tuple[int, str] | None:
    """Return the head carried in a CSV export's chain columns, or None when it has none."""
    lines = csv.reader(io.StringIO(text))
    header = next(lines, [])
    if not set(HEAD_COLUMNS) <= set(header):
        return None
    first = next(lines, None)
    if first is None or len(first) != len(header):
        return None
    seq, digest = (first[header.index(c)] for c in HEAD_COLUMNS)
    return (int(seq), digest) if seq.isdigit() and re.fullmatch(r"[0-9a-f]{64}", digest) else None


def read_export_head(text: str) -> tuple[int, str]:
    """Return the chain head (seq, digest) of an export: its CSV columns or trailer, or a
    JSON `audit_head`."""
    carried = _columns_head(text)
    if carried is not None:
        return carried
    match = HEAD_RE.search(text)
    if match:
        return int(match.group(1)), match.group(2)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for holder in (data, data.get("meta")):
            found = holder.get("audit_head") if isinstance(holder, dict) else None
            if isinstance(found, dict):
                seq, digest = found.get("seq"), found.get("digest")
                if (
                    isinstance(seq, int)
                    and isinstance(digest, str)
                    and re.fullmatch(r"[0-9a-f]{64}", digest)
                ):
                    return seq, digest
    raise ValueError(
        "the file carries no audit chain head (chain_seq and chain_digest columns, a "
        "'# audit chain head:' line or a JSON 'audit_head')"
    )
