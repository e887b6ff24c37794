"""Your cases, a case's page, and the forms that act on a case."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import false, select

from ..domain import rules
from ..domain.definitions import Definition
from ..extensions import db
from ..models import Case, Record, User
from ..services import access as access_log
from ..services import cases as case_service
from ..services import queries
from ..services.core import Context
from ..services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from .diagram import process_diagram
from .forms import ActionForm, ButtonForm, RecordForm, TimescaleForm, add_errors
from .helpers import end_of_day, me, roles_required, web_ctx

bp = Blueprint("cases", __name__)
CASE_ROLES = ("practitioner", "manager", "lead", "partnership", "auditor")
EVENT_WORDS = {
    "raised": "Raised the disagreement",
    "record_acknowledged": "Marked a record as read",
    "timescale_proposed": "Proposed a timescale",
    "timescale_agreed": "Agreed the timescale",
    "overdue": "The level went overdue",
    "due_soon": "The level is due soon",
    "action_overdue": "An agreed action went overdue",
}


def _load(case_id: int) -> Case:
    try:
        return queries.get_case(db.session, me(), case_id)
    except NotFound:
        abort(404)


def _refuse(exc: ServiceError) -> None:
    """Turn a service's refusal into the matching HTTP answer, where it has one."""
    if isinstance(exc, NotFound):
        abort(404)
    if isinstance(exc, Forbidden):
        abort(403)


def row_of(ctx: Context, user: User, case: Case) -> dict[str, Any]:
    """Return what the list of cases shows about one case, and why it may be waiting on the user."""
    definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
    step = None if case.closed else case.current_step
    now = ctx.now
    others = [ca.agency.name for ca in case.agencies if ca.agency_id != user.agency_id]
    row: dict[str, Any] = {
        "case": case,
        "others": others,
        "level": _level_words(definition, case.state) if not case.closed else case.outcome_kind,
        "due": step.due_at if step else None,
        "overdue": bool(step and step.due_at < now),
        "due_soon": bool(step and step.due_at >= now and step.warn_at <= now),
        "agreed": bool(step and step.timescale_status == "agreed"),
        "proposed": bool(step and step.timescale_status == "proposed"),
        "waiting": [],
    }
    if case.closed or step is None:
        return row
    actor, access = case_service.actor_of(user), case_service.access_of(case)
    may_write = rules.may_write(actor, access, definition)
    if (
        step.timescale_status == "proposed"
        and step.proposed_by
        and may_write
        and step.proposed_by.agency_id != user.agency_id
    ):
        row["waiting"].append("a proposed timescale needs your answer")
    if rules.is_party(actor, access) or may_write:
        unread = db.session.scalar(
            select(Record.id)
            .where(Record.case_id == case.id, Record.author_id != user.id)
            .where(~Record.acknowledgements.any(user_id=user.id))
            .limit(1)
        )
        if unread is not None:
            row["waiting"].append("a record you have not read")
    if user.role != "practitioner" and rules.acting_at_level(actor, access, definition):
        row["waiting"].append(f"it is at your {definition.level_word}")
    return row


def _level_words(definition: Definition, state: str) -> str:
    if definition.is_closed_state(state):
        return state.capitalize()
    word = definition.level_word.capitalize()
    return f"{word} {definition.level_number(state)}: {definition.level(state).title}"


@bp.get("/cases")
@roles_required("practitioner", "manager", "lead", "partnership")
def your_cases() -> ResponseReturnValue:
    """List the user's open cases: waiting on them, overdue, due soon, then the rest."""
    ctx, user = web_ctx(), me()
    own = queries.own_cases(user, ctx.workflows)
    open_cases = db.session.scalars(own.where(Case.closed == false()).order_by(Case.id)).all()
    own_agency = user.agency.code
    closed = [
        SimpleNamespace(
            case=case,
            others=[name for code, name in case.agencies if code != own_agency],
            level=case.outcome_kind,
            due=None,
            waiting=[],
        )
        for case in queries.recently_closed(db.session, user, 20)
    ]
    groups: dict[str, list[dict[str, Any]]] = {
        "waiting": [],
        "overdue": [],
        "due_soon": [],
        "rest": [],
    }
    for case in open_cases:
        row = row_of(ctx, user, case)
        key = (
            "waiting"
            if row["waiting"]
            else "overdue"
            if row["overdue"]
            else "due_soon"
            if row["due_soon"]
            else "rest"
        )
        groups[key].append(row)
    for rows in groups.values():
        rows.sort(key=lambda r: (r["due"] is None, r["due"] or ctx.now))
    return render_template(
        "cases/list.html",
        # Objects, not dicts: Jinja looks for an attribute first, and a dict's miss
        # costs an exception per lookup.
        groups={key: [SimpleNamespace(**r) for r in rows] for key, rows in groups.items()},
        closed=closed,
        may_raise=user.role in ("practitioner", "manager", "lead"),
        oversees=user.role in ("manager", "lead", "partnership"),
    )


def _timeline(case: Any, view: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"kind": "record", "at": r["at"], "record": r} for r in view["records"]
    ]
    for event in queries.history(db.session, case):
        if event.action in ("record_added",):
            continue
        items.append(
            {
                "kind": "event",
                "at": event.at,
                "event": event,
                "words": EVENT_WORDS.get(event.action),
            }
        )
    items.sort(key=lambda item: (item["at"], 0 if item["kind"] == "event" else 1))
    return items


@bp.get("/cases/<int:case_id>")
@roles_required(*CASE_ROLES)
def show(case_id: int) -> ResponseReturnValue:
    """Show a case: its summary, current level, timeline, diagram and what the user may do now."""
    ctx, user = web_ctx(), me()
    try:
        read = queries.read_case(db.session, ctx.workflows, user, case_id, ctx.now)
    except NotFound:
        abort(404)
    definition, view, access = read.definition(ctx.workflows), read.view, read.access
    case = _page_case(view)
    actor = case_service.actor_of(user)
    may_write = rules.may_write(actor, access, definition)
    may_read_mark = user.role not in ("auditor", "admin") and (
        rules.is_party(actor, access) or may_write
    )
    step = view["step"]
    proposer = step["timescale"]["proposed_by"] if step else None
    may_accept = bool(
        may_write
        and step
        and step["timescale"]["status"] == "proposed"
        and proposer
        and proposer["agency"] != user.agency.code
    )
    access_log.record_access(
        db.session, user, access_log.CASE_VIEWED, case.reference, "web", ctx.now
    )
    return render_template(
        "cases/show.html",
        case=case,
        view=view,
        definition=definition,
        level_words=_level_words(
            definition, case.outcome_level if case.closed and case.outcome_level else case.state
        ),
        timeline=_timeline(case, view),
        actions=queries.available_actions(ctx, user, definition, access),
        may_write=may_write,
        may_propose=may_write and definition.agreed_between_parties,
        may_accept=may_accept,
        may_read_mark=may_read_mark,
        diagram=process_diagram(
            definition, case.state, case.outcome_level if case.closed else None
        ),
        button=ButtonForm(version=str(case.version)),
        theme_words=[rules.THEMES.get(t, t) for t in case.themes],
        categories=rules.CATEGORIES,
        user=user,
    )


def _page_case(view: dict[str, Any]) -> SimpleNamespace:
    """Return the case of a read as the case page names its parts.

    The page is drawn from the one-statement read (`queries.read_case`), as the API's
    answer is: the ORM's whole-case load beside it was a third of the page's time."""
    outcome, learning = view["outcome"] or {}, view["learning"] or {}
    raising = next((a for a in view["agencies"] if a["raising"]), None)
    return SimpleNamespace(
        **{k: view[k] for k in _PAGE_KEYS},
        raising_agency=raising["name"] if raising else "",
        outcome_kind=outcome.get("kind"),
        outcome_level=outcome.get("level"),
        outcome_text=outcome.get("text"),
        closed_at=outcome.get("at"),
        learning_text=learning.get("text"),
        themes=learning.get("themes", []),
    )


_PAGE_KEYS = (
    "id", "reference", "version", "state", "closed", "summary", "child_ref",
    "child_initials", "category", "raised_at", "urgent",
)  # fmt: skip


@bp.route("/cases/<int:case_id>/records/new", methods=["GET", "POST"])
@roles_required("practitioner", "manager", "lead", "partnership")
def add_record(case_id: int) -> ResponseReturnValue:
    """Add a discussion, action, decision or note to the shared record."""
    ctx = web_ctx()
    case = _load(case_id)
    form = RecordForm()
    problems: list[str] = []
    if form.validate_on_submit():
        due = None
        if form.kind.data == "action" and form.action_due.data:
            due = end_of_day(form.action_due.data, ctx, case.workflow_key, case.workflow_version)
        try:
            case_service.add_record(
                ctx,
                me().id,
                case.id,
                kind=form.kind.data or "",
                text=form.text.data or "",
                action_due=due,
            )
        except ServiceError as exc:
            _refuse(exc)
            problems = add_errors(
                form, exc, {"action_due": "action_due", "text": "text", "kind": "kind"}
            )
        else:
            flash("Your record has been added and shared with everyone involved", "success")
            return redirect(url_for("cases.show", case_id=case.id) + "#timeline")
    status = 400 if form.errors or problems else 200
    return render_template("cases/record.html", case=case, form=form, problems=problems), status


@bp.post("/records/<int:record_id>/read")
@login_required
def acknowledge(record_id: int) -> ResponseReturnValue:
    """Mark a record as read by the signed-in user."""
    ButtonForm().validate_on_submit()
    try:
        record = case_service.acknowledge(web_ctx(), me().id, record_id)
    except ServiceError as exc:
        _refuse(exc)
        abort(409)
    flash("The record is marked as read", "success")
    return redirect(url_for("cases.show", case_id=record.case_id) + f"#record-{record.id}")


def _version(form: Any) -> int | None:
    value = (form.version.data or "").strip()
    return int(value) if value.isdigit() else None


@bp.route("/cases/<int:case_id>/timescale", methods=["GET", "POST"])
@roles_required("practitioner", "manager", "lead", "partnership")
def propose(case_id: int) -> ResponseReturnValue:
    """Propose the date by which the current level should be decided."""
    ctx = web_ctx()
    case = _load(case_id)
    form = TimescaleForm()
    if not form.is_submitted():
        form.version.data = str(case.version)
    problems: list[str] = []
    if form.validate_on_submit():
        assert form.due.data is not None  # noqa: S101 - required by the form
        try:
            case_service.propose_timescale(
                ctx,
                me().id,
                case.id,
                due_at=end_of_day(form.due.data, ctx, case.workflow_key, case.workflow_version),
                reason=form.reason.data or "",
                expected_version=_version(form),
            )
        except ServiceError as exc:
            _refuse(exc)
            problems = add_errors(form, exc, {"due_at": "due", "reason": "reason"})
        else:
            flash(
                "You have proposed a timescale. Someone from another agency needs to accept it",
                "success",
            )
            return redirect(url_for("cases.show", case_id=case.id))
    status = 400 if form.errors or problems else 200
    return render_template("cases/timescale.html", case=case, form=form, problems=problems), status


@bp.post("/cases/<int:case_id>/timescale/accept")
@roles_required("practitioner", "manager", "lead", "partnership")
def accept(case_id: int) -> ResponseReturnValue:
    """Accept the timescale proposed by another agency."""
    case = _load(case_id)
    form = ButtonForm()
    form.validate_on_submit()
    try:
        case_service.accept_timescale(web_ctx(), me().id, case.id, expected_version=_version(form))
    except (Conflict, Invalid) as exc:
        flash(exc.message, "error")
    except ServiceError as exc:
        _refuse(exc)
        raise
    else:
        flash("You have agreed the timescale", "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/cases/<int:case_id>/actions/<action_key>", methods=["GET", "POST"])
@roles_required("practitioner", "manager", "lead", "partnership")
def act(case_id: int, action_key: str) -> ResponseReturnValue:
    """Escalate, resolve, withdraw or refer on, with the record, outcome and learning asked for."""
    ctx, user = web_ctx(), me()
    case = _load(case_id)
    definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
    access = case_service.access_of(case)
    offered = {a["key"]: a for a in queries.available_actions(ctx, user, definition, access)}
    action = definition.action(action_key)
    if action is None or action_key not in offered:
        abort(404 if action is None else 403)
    form = ActionForm()
    if not form.is_submitted():
        form.version.data = str(case.version)
    problems: list[str] = []
    if form.validate_on_submit() and _complete(
        form,
        action.requires_record,
        action.closes,
        action.requires_outcome,
        action.closes == "referred",
    ):
        outcome = learning = None
        if action.closes:
            outcome = {"text": form.outcome.data or None}
            if action.closes == "referred":
                outcome["referred_to"] = form.referred_to.data or None
            if (form.learning.data or "").strip() or form.themes.data:
                learning = {
                    "text": form.learning.data or None,
                    "themes": list(form.themes.data or []),
                }
        try:
            case_service.take_action(
                ctx,
                user.id,
                case.id,
                action_key,
                record=form.record.data or None,
                expected_version=_version(form),
                outcome=outcome,
                learning=learning,
            )
        except ServiceError as exc:
            _refuse(exc)
            problems = add_errors(
                form,
                exc,
                {
                    "record": "record",
                    "outcome.text": "outcome",
                    "outcome.referred_to": "referred_to",
                    "learning.text": "learning",
                    "learning.themes": "themes",
                },
            )
        else:
            flash(f"Done: {action.title.lower()}", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    status = 400 if form.errors or problems else 200
    return render_template(
        "cases/action.html",
        case=case,
        form=form,
        action=action,
        definition=definition,
        level_words=_level_words(definition, case.state),
        problems=problems,
    ), status


def _complete(
    form: ActionForm,
    needs_record: bool,
    closes: str | None,
    needs_outcome: bool,
    needs_referral: bool,
) -> bool:
    """Check the answers this action needs, in the form's own words."""
    ok = True
    checks = [
        (needs_record, form.record, "Enter a record of the decision"),
        (bool(closes) and needs_outcome, form.outcome, "Enter the outcome"),
        (needs_referral, form.referred_to, "Enter who the case is referred to"),
        (bool(form.themes.data), form.learning, "Enter what was learnt, or clear the themes"),
    ]
    for needed, field, message in checks:
        if needed and not (field.data or "").strip():
            field.errors = [*field.errors, message]
            ok = False
    form._errors = None
    return ok
