"""Overdue and due soon for managers and leads; the outcome log and chain status for auditors."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ..domain import rules
from ..extensions import db
from ..models import AccessLog, Agency, Case
from ..services import history, queries
from ..services.core import head
from .cases import _level_words
from .helpers import me, roles_required, web_ctx

bp = Blueprint("oversight", __name__)
SORTS = {"due": "Due date", "reference": "Reference", "level": "Level"}
SHOWS = {
    "late": "Overdue and due soon",
    "overdue": "Overdue only",
    "due_soon": "Due soon only",
    "all": "All open cases",
}


def _open_rows() -> list[dict[str, Any]]:
    ctx, user = web_ctx(), me()
    rows = []
    for case in db.session.scalars(queries.visible_cases(user).where(Case.closed.is_(False))):
        step = case.current_step
        if step is None:
            continue
        definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
        overdue = step.due_at < ctx.now
        rows.append(
            {
                "case": case,
                "level_key": case.state,
                "level": _level_words(definition, case.state),
                "level_number": definition.level_number(case.state),
                "due": step.due_at,
                "overdue": overdue,
                "due_soon": not overdue and step.warn_at <= ctx.now,
                "agreed": step.timescale_status == "agreed",
                "others": [ca.agency for ca in case.agencies if ca.agency_id != user.agency_id],
            }
        )
    return rows


@bp.get("/overdue")
@roles_required("manager", "lead", "partnership")
def overdue() -> ResponseReturnValue:
    """List the open cases involving the user's agency, overdue and due soon first, with counts."""
    args = request.args
    rows = _open_rows()
    counts = {
        "open": len(rows),
        "overdue": sum(r["overdue"] for r in rows),
        "due_soon": sum(r["due_soon"] for r in rows),
    }
    levels = sorted({(r["level_number"], r["level_key"], r["level"]) for r in rows})
    agencies = sorted(
        {(a.code, a.name) for r in rows for a in r["others"]}, key=lambda pair: pair[1]
    )
    show = args.get("show", "late") if args.get("show", "late") in SHOWS else "late"
    level = args.get("level", "")
    agency = args.get("agency", "")
    sort = args.get("sort", "due") if args.get("sort", "due") in SORTS else "due"
    descending = args.get("order") == "desc"
    if show == "late":
        rows = [r for r in rows if r["overdue"] or r["due_soon"]]
    elif show in ("overdue", "due_soon"):
        rows = [r for r in rows if r[show]]
    if level:
        rows = [r for r in rows if r["level_key"] == level]
    if agency:
        rows = [r for r in rows if any(a.code == agency for a in r["others"])]
    keys = {
        "due": lambda r: r["due"],
        "reference": lambda r: r["case"].reference,
        "level": lambda r: (r["level_number"], r["due"]),
    }
    rows.sort(key=keys[sort], reverse=descending)
    filters = {"show": show, "level": level, "agency": agency}
    selects = {
        "show": _items(SHOWS.items(), show),
        "level": _items([("", "Any level")] + [(key, words) for _, key, words in levels], level),
        "agency": _items([("", "Any agency")] + agencies, agency),
    }
    return render_template(
        "oversight/overdue.html",
        rows=rows,
        counts=counts,
        selects=selects,
        sort=sort,
        descending=descending,
        filters=filters,
        agency_name=me().agency.name,
    )


def _items(pairs: Any, chosen: str) -> list[dict[str, Any]]:
    """Return GOV.UK select items with the chosen one selected."""
    return [{"value": value, "text": text, "selected": value == chosen} for value, text in pairs]


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/outcomes")
@roles_required("auditor", "partnership")
def outcomes() -> ResponseReturnValue:
    """Show the outcome log with filters, a CSV link and whether the history's chain is intact."""
    from ..services import reports  # the reporting helper's module

    ctx, args = web_ctx(), request.args
    errors: dict[str, str] = {}
    start, end = _day(args.get("from")), _day(args.get("to"))
    if args.get("from") and start is None:
        errors["from"] = "Enter the start date as year-month-day, for example 2026-03-01"
    if args.get("to") and end is None:
        errors["to"] = "Enter the end date as year-month-day, for example 2026-03-31"
    agency = (args.get("agency") or "").strip().upper() or None
    log = _decorated(
        reports.outcome_log(
            db.session, me(), date_from=start, date_to=end, agency=agency, workflows=ctx.workflows
        ),
        ctx,
    )
    verdict = history.verify_chain(db.session)
    agencies = [("", "Any agency")] + [
        (a.code, a.name) for a in db.session.scalars(select(Agency).order_by(Agency.name))
    ]
    filters = {"from": args.get("from", ""), "to": args.get("to", ""), "agency": agency or ""}
    return render_template(
        "oversight/outcomes.html",
        log=log,
        verdict=verdict,
        errors=errors,
        agencies=_items(agencies, agency or ""),
        filters=filters,
        csv_args={k: v for k, v in filters.items() if v},
    ), 400 if errors else 200


@bp.get("/outcomes.csv")
@roles_required("auditor", "partnership")
def outcomes_csv() -> ResponseReturnValue:
    """Download the outcome log, filtered as on the page, as CSV ending with the chain's head."""
    from ..services import reports

    ctx, args, user = web_ctx(), request.args, me()
    agency = (args.get("agency") or "").strip().upper() or None
    rows = reports.outcome_log(
        db.session,
        user,
        date_from=_day(args.get("from")),
        date_to=_day(args.get("to")),
        agency=agency,
        workflows=ctx.workflows,
    )
    text = reports.outcome_csv(rows, head(db.session))
    db.session.add(
        AccessLog(
            at=ctx.now,
            user_id=user.id,
            actor=user.email,
            what="outcomes_exported",
            target=request.query_string.decode()[:200] or None,
            door="web",
        )
    )
    db.session.commit()
    name = f"outcome-log-{ctx.now.date().isoformat()}.csv"
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _decorated(rows: list[dict[str, Any]], ctx: Any) -> list[dict[str, Any]]:
    """Add the words the page shows beside each outcome row's codes."""
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
                "theme_words": [rules.THEMES.get(t, t) for t in row["themes"]],
            }
        )
    return out[::-1]  # newest closure first on the page
