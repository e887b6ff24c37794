"""Overdue and due soon for managers and leads; the outcome log and chain status for auditors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from ..charts import bar_chart_svg
from ..domain import rules
from ..domain.calendar import financial_year
from ..domain.status import is_urgent, step_status, who_acts, working_days_overdue
from ..extensions import db
from ..services import access, directory, figures, history, queries, reports
from ..services.core import Context
from .cases import _level_words
from .helpers import LONDON, london_day, me, roles_required, web_ctx

bp = Blueprint("oversight", __name__)
SORTS = {"due": "Due date", "reference": "Reference", "level": "Level"}
PER_PAGE = 50
SHOWS = {
    "late": "Overdue and due soon",
    "overdue": "Overdue only",
    "due_soon": "Due soon only",
    "all": "All open cases",
}


@dataclass(frozen=True)
class OverdueRow:
    """An open case as the Overdue page shows it."""

    case_id: int
    reference: str
    level: str  # the words of the level the case is at
    due: datetime
    overdue: bool
    due_soon: bool
    agreed: bool  # the current step's timescale has been agreed
    others: str  # the other agencies' names
    acts: str  # who acts now, in words: the level's roles and, but for the partnership, where
    days_overdue: int | None  # working days past the deadline (0: less than one); None: not late
    urgent: bool  # on the urgent route's clock


def _overdue_row(case: queries.OpenRow, ctx: Context, own: str) -> OverdueRow:
    """Return an open case's row, its standing on the clock from the domain's one rule."""
    definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
    status = step_status(due_at=case.due_at, warn_at=case.warn_at, ended_at=None, now=ctx.now)
    acts = who_acts(definition, case.state)
    if definition.level(case.state).acts != ("partnership",):
        acts = f"{acts} of {', '.join(name for _, name in case.agencies)}"
    return OverdueRow(
        case_id=case.id,
        reference=case.reference,
        level=_level_words(definition, case.state),
        due=case.due_at,
        overdue=status.overdue,
        due_soon=status.due_soon,
        agreed=case.timescale_status == "agreed",
        others=", ".join(name for code, name in case.agencies if code != own),
        acts=acts[:1].upper() + acts[1:],
        days_overdue=working_days_overdue(case.due_at, ctx.now, definition.calendar),
        urgent=is_urgent(definition, case.state, case.urgent),
    )


@bp.get("/overdue")
@roles_required(*rules.OVERSEERS)
def overdue() -> ResponseReturnValue:
    """List the open cases involving the user's agency, overdue and due soon first, with counts."""
    args = request.args
    ctx, user = web_ctx(), me()
    sort = args.get("sort", "due") if args.get("sort", "due") in SORTS else "due"
    flt = queries.OpenFilter(
        show=args.get("show", "late") if args.get("show", "late") in SHOWS else "late",
        level=_printable_or_any(args.get("level", ""))[:40],
        agency=_printable_or_any(args.get("agency", ""))[:20],
        sort=sort,
        descending=args.get("order") == "desc",
        page=min(max(args.get("page", 1, type=int) or 1, 1), 100_000),
        per_page=PER_PAGE,
    )
    found = queries.open_cases(db.session(), ctx, user, flt, door="web")
    own = user.agency.code
    rows = [_overdue_row(case, ctx, own) for case in found.rows]
    levels: dict[str, str] = {}
    for _, key, workflow, version in found.levels:
        levels.setdefault(key, _level_words(ctx.workflows.definition(workflow, version), key))
    filters = {"show": flt.show, "level": flt.level, "agency": flt.agency}
    here = {**filters, "sort": sort, "order": "desc" if flt.descending else "asc"}
    first = (flt.page - 1) * PER_PAGE
    return render_template(
        "oversight/overdue.html",
        rows=rows,
        total=found.total,
        first=first + 1,
        last=first + len(rows),
        pages=max(1, -(-found.total // PER_PAGE)),
        previous_args={**here, "page": flt.page - 1} if flt.page > 1 else None,
        next_args={**here, "page": flt.page + 1} if first + len(rows) < found.total else None,
        counts=found.counts,
        selects={
            "show": _items(SHOWS.items(), flt.show),
            "level": _items([("", "Any level"), *levels.items()], flt.level),
            "agency": _items([("", "Any agency"), *found.agencies], flt.agency),
        },
        sort=sort,
        descending=flt.descending,
        filters=filters,
        agency_name=user.agency.name,
    )


def _printable_or_any(value: str) -> str:
    """Read a select's value with control characters, which no choice has, as any."""
    return value if rules.printable(value) else ""


def _items(pairs: Any, chosen: str) -> list[dict[str, Any]]:
    """Return GOV.UK select items with the chosen one selected."""
    return [{"value": value, "text": text, "selected": value == chosen} for value, text in pairs]


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


PARTS = ("day", "month", "year")


def _boxes(day: date) -> dict[str, str]:
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def _typed_day(name: str, wrong: str) -> tuple[str, dict[str, str], date | None, dict[str, str]]:
    """Read a day typed in GOV.UK day, month and year boxes (`name-day`...), or given as
    year-month-day in `name` (the page's own links): (the day as year-month-day, the boxes'
    values, the day, its error by field)."""
    args = request.args
    boxes = {part: (args.get(f"{name}-{part}") or "").strip() for part in PARTS}
    iso = (args.get(name) or "").strip()
    day: date | None = None
    if any(boxes.values()):
        try:
            day = date(int(boxes["year"]), int(boxes["month"]), int(boxes["day"]))
        except (ValueError, OverflowError):
            return "", boxes, None, {name: wrong}
    elif iso:
        day = _day(iso)
        if day is None:
            return "", boxes, None, {name: wrong}
        boxes = _boxes(day)
    if day is not None and not rules.in_range(day):
        return "", boxes, None, {name: rules.OUT_OF_RANGE}
    return (day.isoformat() if day else ""), boxes, day, {}


def _period(
    examples: tuple[str, str] = ("1 4 2026", "31 3 2027"),
    default: tuple[date, date] | None = None,
) -> tuple[date | None, date | None, dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """Read a from/to period: (start, end, the days as year-month-day, errors by field, the
    boxes' values by field). A period with an error, or that ends before it starts, is refused:
    the page then shows the error and no rows. With nothing asked at all, `default`."""
    if default and not any(k.startswith(("from", "to")) for k in request.args):
        start_day, end_day = default
        return (
            start_day,
            end_day,
            {"from": start_day.isoformat(), "to": end_day.isoformat()},
            {},
            {name: _boxes(day) for name, day in (("from", start_day), ("to", end_day))},
        )
    start_iso, start_boxes, start, start_error = _typed_day(
        "from", f"Enter a real start date as day, month and year, for example {examples[0]}"
    )
    end_iso, end_boxes, end, end_error = _typed_day(
        "to", f"Enter a real end date as day, month and year, for example {examples[1]}"
    )
    errors = {**start_error, **end_error}
    if start and end and start > end:
        errors["to"] = "The end date must be the same as or after the start date"
    if errors:
        start = end = None
    values = {"from": start_iso, "to": end_iso}
    return start, end, values, errors, {"from": start_boxes, "to": end_boxes}


def _outcome_filters(
    ctx: Any,
) -> tuple[dict[str, Any], dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """Read the outcome log's filters: (service arguments, form values, errors by field, the
    date boxes' values)."""
    start, end, values, errors, boxes = _period(("1 3 2026", "31 3 2026"))
    values.update({name: (request.args.get(name) or "").strip() for name in OUTCOME_FILTERS[2:]})
    values["agency"] = values["agency"].upper()
    choices = _outcome_choices(ctx)
    for name in ("agency", "category", "level", "outcome", "theme"):
        known = {value for value, _ in choices[name]}
        if values[name] not in known:
            errors[name] = f"Choose a {name} from the list"
            values[name] = ""
    kwargs = {
        "date_from": start,
        "date_to": end,
        **{
            name: values[name] or None
            for name in ("agency", "category", "level", "outcome", "theme")
        },
    }
    return kwargs, values, errors, boxes


OUTCOME_FILTERS = ("from", "to", "agency", "category", "level", "outcome", "theme")


def _outcome_choices(ctx: Any) -> dict[str, list[tuple[str, str]]]:
    """Return the choices of each outcome-log select, the empty choice first."""
    levels: dict[str, str] = {}
    for definition in ctx.workflows.registry.all():
        for key in definition.level_index:
            levels.setdefault(key, definition.level(key).title)
    agencies = [(a.code, a.name) for a in directory.agencies(db.session(), ctx)]
    return {
        "agency": [("", "Any agency"), *agencies],
        "category": [("", "Any category"), *rules.CATEGORIES.items()],
        "level": [("", "Any level"), *sorted(levels.items(), key=lambda kv: kv[1])],
        "outcome": [("", "Any outcome"), *((k, k.capitalize()) for k in rules.OUTCOME_KINDS)],
        "theme": [("", "Any learning theme"), *rules.THEMES.items()],
    }


@bp.get("/outcomes")
@roles_required(*rules.READERS)
def outcomes() -> ResponseReturnValue:
    """Show the outcome log with filters, a CSV link and whether the history's chain is intact."""
    ctx, user = web_ctx(), me()
    kwargs, values, errors, boxes = _outcome_filters(ctx)
    reading = access.Reading(access.OUTCOMES_VIEWED, _target("outcomes", values), "web")
    found = [] if errors else reports.read_outcomes(db.session(), ctx, user, reading, **kwargs).rows
    log = _decorated(found, ctx)
    verdict = history.verify_chain(db.session(), ctx)
    choices = _outcome_choices(ctx)
    return render_template(
        "oversight/outcomes.html",
        log=log,
        verdict=verdict,
        errors=errors,
        selects={name: _items(choices[name], values[name]) for name in choices},
        filters=values,
        boxes=boxes,
        csv_args={k: v for k, v in values.items() if v},
    ), 400 if errors else 200


@bp.get("/outcomes.csv")
@roles_required(*rules.READERS)
def outcomes_csv() -> ResponseReturnValue:
    """Download the outcome log, filtered as on the page, as CSV ending with the chain's head."""
    ctx, user = web_ctx(), me()
    kwargs, values, errors, _ = _outcome_filters(ctx)
    if errors:
        abort(400)
    reading = access.Reading(access.EXPORTED, _target("outcomes", values), "web")
    found = reports.read_outcomes(db.session(), ctx, user, reading, **kwargs)
    return _csv(found.csv(), f"outcome-log-{ctx.now.date().isoformat()}.csv")


def _target(name: str, values: dict[str, str]) -> str:
    """Name what was read or exported for the access log, with only the filters in use."""
    used = urlencode({key: value for key, value in values.items() if value})
    return f"{name}?{used}" if used else name


def _csv(text: str, name: str) -> Response:
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/figures")
@roles_required(*rules.READERS)
def figures_page() -> ResponseReturnValue:
    """Show the annual-report figures for a period: charts, each with its data table."""
    ctx, user = web_ctx(), me()
    start, end, values, errors, boxes = _period(default=_this_year(ctx))
    reading = access.Reading(access.FIGURES_VIEWED, _target("figures", values), "web")
    agency_names = directory.agency_names(db.session(), ctx)
    figs = (
        None
        if errors
        else figures.read_figures(db.session(), ctx, user, start, end, reading).figures
    )
    charts = [
        {"title": title, "rows": rows, "svg": Markup(bar_chart_svg(title, rows))}  # noqa: S704 - charts escape every text  # nosec B704
        for title, rows in (figures.chart_series(figs, agency_names) if figs else [])
    ]
    return render_template(
        "oversight/figures.html",
        figs=figs,
        charts=charts,
        errors=errors,
        filters=values,
        boxes=boxes,
        period=_period_words(start, end),
        agency_names=agency_names,
        csv_args={k: v for k, v in values.items() if v} if not errors else {},
        categories=rules.CATEGORIES,
        themes=rules.THEMES,
        kinds=rules.OUTCOME_KINDS,
    ), 400 if errors else 200


@bp.get("/figures.csv")
@roles_required(*rules.READERS)
def figures_csv() -> ResponseReturnValue:
    """Download the figures for a period as CSV (figure, group, measure, value)."""
    ctx, user = web_ctx(), me()
    start, end, values, errors, _ = _period(default=_this_year(ctx))
    if errors:
        abort(400)
    reading = access.Reading(access.EXPORTED, _target("figures", values), "web")
    found = figures.read_figures(db.session(), ctx, user, start, end, reading)
    return _csv(found.csv(), f"figures-{ctx.now.date().isoformat()}.csv")


def _this_year(ctx: Context) -> tuple[date, date]:
    """The current financial year, the figures' period unless another is asked for."""
    return financial_year(ctx.now.astimezone(LONDON).date())


def _period_words(start: date | None, end: date | None) -> str:
    """'1 April 2026 to 31 March 2027', 'the start to today' or 'all time'."""
    if start is None and end is None:
        return "all time"
    first = london_day(start) if start else "the start"
    return f"{first} to {london_day(end) if end else 'today'}"


ACCESS_PAGE = 50


@bp.get("/access")
@roles_required("auditor")
def access_log() -> ResponseReturnValue:
    """Show who looked at what, newest first, filtered by person, kind and day."""
    ctx, user = web_ctx(), me()
    args = request.args
    values = {name: (args.get(name) or "").strip() for name in ("actor", "what")}
    values["on"], boxes, day, errors = _typed_day(
        "on", "Enter a real day as day, month and year, for example 20 11 2026"
    )
    if not rules.printable(values["actor"]):
        errors["actor"] = rules.NOT_PRINTABLE
        values["actor"] = ""
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    if page > rules.MAX_PAGE:
        errors["page"] = f"Enter a page number from 1 to {rules.MAX_PAGE}"
        page = 1
    kinds = access.kinds(db.session(), ctx)
    if values["what"] and values["what"] not in kinds:
        errors["what"] = "Choose a kind of access from the list"
        values["what"] = ""
    rows, total = access.access_page(
        db.session(),
        ctx,
        user,
        page=page,
        per_page=ACCESS_PAGE,
        actor=values["actor"] or None,
        what=values["what"] or None,
        day=day,
    )
    access.record_access(
        db.session(),
        ctx,
        user,
        access.ACCESS_VIEWED,
        _target("access", {**values, "page": str(page) if page > 1 else ""}),
        "web",
    )
    pages = max(1, -(-total // ACCESS_PAGE))
    kept = {k: v for k, v in values.items() if v and k not in errors}
    return render_template(
        "oversight/access.html",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        errors=errors,
        filters=values,
        boxes={"on": boxes},
        what_items=_items(
            [("", "Any kind"), *((k, k.replace("_", " ")) for k in kinds)], values["what"]
        ),
        previous_args={**kept, "page": page - 1} if page > 1 else None,
        next_args={**kept, "page": page + 1} if page < pages else None,
    ), 400 if errors else 200


def _decorated(rows: list[dict[str, Any]], ctx: Any) -> list[dict[str, Any]]:
    """Add the words the page shows beside each outcome row's codes."""
    names = directory.agency_names(db.session(), ctx)
    out = []
    for row in rows:
        key, version = row["workflow"].rsplit(" v", 1)
        definition = ctx.workflows.definition(key, int(version))
        level = row["level"]
        words = _level_words(definition, level) if level in definition.level_index else level
        out.append(
            {
                **row,
                "level_words": words,
                "category_words": rules.CATEGORIES.get(row["category"], row["category"]),
                "agency_words": [names.get(code, code) for code in row["agencies"]],
                "theme_words": [rules.THEMES.get(t, t) for t in row["themes"]],
            }
        )
    return out[::-1]  # newest closure first on the page
