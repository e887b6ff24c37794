"""Your cases, a case's page, and the forms that act on a case."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from ..domain import rules
from ..domain.definitions import Definition
from ..domain.status import timescale_for
from ..extensions import db
from ..services import cases as case_service
from ..services import queries, timescales, worklist
from ..services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from ..services.loading import actor_of
from ..services.views import CaseView
from . import words
from .diagram import process_diagram
from .forms import ActionForm, ButtonForm, RecordForm, TimescaleForm, add_errors
from .helpers import drafts_kept, end_of_day, me, roles_required, web_ctx

bp = Blueprint("cases", __name__)
CASE_ROLES = rules.CASE_READERS


def _load(case_id: int, **reading: Any) -> CaseView:
    try:
        return queries.read_case(db.session(), web_ctx(), me(), case_id, **reading)
    except NotFound:
        abort(404)


def _refuse(exc: ServiceError) -> None:
    """Turn a service's refusal into the matching HTTP answer, where it has one."""
    if isinstance(exc, NotFound):
        abort(404)
    if isinstance(exc, Forbidden):
        abort(403)


def _level_words(definition: Definition, state: str) -> str:
    return definition.level_words(state)


def _shown_level(case: CaseView) -> str:
    """Return the words of the level a case is at, or was closed at."""
    shown = case.outcome.level if case.outcome and case.outcome.level else case.state
    definition = case.definition
    return definition.level_words(shown) if shown in definition.level_index else shown


@bp.get("/cases")
@roles_required(*rules.ACTORS)
def your_cases() -> ResponseReturnValue:
    """List the user's open cases: waiting on them, overdue, due soon, then the rest."""
    user = me()
    kept = drafts_kept() if user.role in rules.RAISERS else None  # only raisers have drafts
    found = worklist.your_cases(db.session(), web_ctx(), user, door="web", drafts_kept=kept)
    return render_template(
        "cases/list.html",
        cases=found,
        may_raise=user.role in rules.RAISERS,
        oversees=user.role in rules.OVERSEERS,
    )


SEARCH_PAGE = 50


@bp.get("/cases/search")
@roles_required(*CASE_ROLES)
def search() -> ResponseReturnValue:
    """Find cases the user may see by the service's reference or the agencies' child reference."""
    ctx, user = web_ctx(), me()
    typed = (request.args.get("q") or "").strip()
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), rules.MAX_PAGE)
    found, error = None, None
    if typed:
        flt = queries.CaseFilter(q=typed, page=page, per_page=SEARCH_PAGE)
        try:
            found = queries.cases_page(db.session(), ctx, user, flt, door="web")
        except Invalid as exc:
            error = "; ".join(exc.fields.get("q", [exc.message]))
    elif "q" in request.args:
        error = "Enter a reference, or the beginning of one"
    rows = [{"case": case, "level": _shown_level(case)} for case in found.items] if found else []
    total = found.total if found else 0
    pages = max(1, -(-total // SEARCH_PAGE))
    return render_template(
        "cases/search.html",
        q=typed,
        rows=rows,
        total=total,
        searched=found is not None,
        error=error,
        previous_page=page - 1 if page > 1 and found else None,
        next_page=page + 1 if found and page < pages else None,
        pages=pages,
    ), 400 if error else 200


def _timeline(case: CaseView) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"kind": "record", "at": r.at, "record": r} for r in case.records
    ]
    names = words.names_in(case)
    for event in case.events:
        if event.action in ("record_added",):
            continue
        sentence = words.event_sentence(event, case.definition, names)
        items.append({"kind": "event", "at": event.at, "event": event, "words": sentence})
    items.sort(key=lambda item: (item["at"], 0 if item["kind"] == "event" else 1))
    return items


@bp.get("/cases/<int:case_id>")
@roles_required(*CASE_ROLES)
def show(case_id: int) -> ResponseReturnValue:
    """Show a case: its summary, current level, timeline, diagram and what the user may do now."""
    ctx, user = web_ctx(), me()
    case = _load(case_id, door="web", with_history=True)
    definition, access, actor = case.definition, case.access, actor_of(user)
    step = case.step
    shown_at = case.outcome.level if case.outcome and case.outcome.level else case.state
    return render_template(
        "cases/show.html",
        case=case,
        level_words=definition.level_words(shown_at),
        timeline=_timeline(case),
        may_write=rules.may_write(actor, access, definition),
        may_propose=rules.may_propose(actor, access, definition),
        may_accept=rules.may_accept(
            actor, access, definition, step.proposal if step else None, ctx.now
        ),
        may_decline=rules.may_decline(actor, access, definition, step.proposal if step else None),
        may_answer_closing=rules.may_answer_closing(actor, access, definition),
        may_end=lambda record: rules.may_end_action(
            actor, access, definition, rules.Owner(record.author.id, record.author.agency)
        ),
        open_actions=[r for r in case.records if r.open_action],
        may_read_mark=rules.may_acknowledge(actor, access, definition),
        may_add_parties=rules.may_add_parties(actor, access),
        may_hand_over=rules.may_hand_over(actor, access, actor.agency)
        and any(p.agency == actor.agency for p in case.parties),
        should_read=lambda record: rules.should_read(
            actor, record.author.id, [r.id for r in record.acknowledged_by]
        ),
        diagram=process_diagram(
            definition, case.state, case.outcome.level if case.outcome else None, case.urgent
        ),
        button=ButtonForm(version=str(case.version)),
        theme_words=[
            rules.THEMES.get(t, t) for t in (case.learning.themes if case.learning else [])
        ],
        categories=rules.CATEGORIES,
        level_timescales={
            lv.key: timescale_for(definition, lv.key, case.urgent).timescale
            for lv in definition.levels
        },
    )


@bp.route("/cases/<int:case_id>/records/new", methods=["GET", "POST"])
@roles_required(*rules.ACTORS)
def add_record(case_id: int) -> ResponseReturnValue:
    """Add a discussion, action, decision or note to the shared record."""
    ctx = web_ctx()
    case = _load(case_id)
    form = RecordForm()
    problems: list[str] = []
    if form.validate_on_submit():
        due = None
        if form.kind.data == "action" and form.action_due.data:
            due = end_of_day(form.action_due.data, ctx, case.workflow.key, case.workflow.version)
        try:
            case_service.add_record(
                db.session(),
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
        record = case_service.acknowledge(db.session(), web_ctx(), me().id, record_id)
    except ServiceError as exc:
        _refuse(exc)
        abort(409)
    flash("The record is marked as read", "success")
    return redirect(url_for("cases.show", case_id=record.case_id) + f"#record-{record.id}")


def _version(form: Any) -> int | None:
    value = (form.version.data or "").strip()
    return int(value) if value.isdigit() else None


def stale_problems(case_id: int, form: Any, exc: ServiceError) -> list[Any] | None:
    """Say what changed a case since its form was opened, with a link to the case as it is
    now; the form may then be sent again (at the case's new version)."""
    if not isinstance(exc, Conflict) or "version" not in exc.fields:
        return None
    fresh = _load(case_id, door="web", with_history=True)
    changes = words.since(fresh, _version(form) or 0) or ["someone else changed it"]
    form.version.data = str(fresh.version)
    text = (
        f"This case changed while you were on this page: {'; '.join(changes)}. "
        "Check the case as it is now, then send your answers again"
    )
    return [(text, url_for("cases.show", case_id=case_id))]


@bp.route("/cases/<int:case_id>/timescale", methods=["GET", "POST"])
@roles_required(*rules.ACTORS)
def propose(case_id: int) -> ResponseReturnValue:
    """Propose the date by which the current level should be decided."""
    ctx = web_ctx()
    case = _load(case_id)
    form = TimescaleForm()
    if not form.is_submitted():
        form.version.data = str(case.version)
    problems: list[Any] = []
    if form.validate_on_submit():
        assert form.due.data is not None
        try:
            timescales.propose_timescale(
                db.session(),
                ctx,
                me().id,
                case.id,
                due_at=end_of_day(form.due.data, ctx, case.workflow.key, case.workflow.version),
                reason=form.reason.data or "",
                expected_version=_version(form),
            )
        except ServiceError as exc:
            _refuse(exc)
            problems = stale_problems(case.id, form, exc) or add_errors(
                form, exc, {"due_at": "due", "reason": "reason"}
            )
        else:
            flash(
                "You have proposed a timescale. Someone from another agency needs to accept it",
                "success",
            )
            return redirect(url_for("cases.show", case_id=case.id))
    status = 400 if form.errors or problems else 200
    return render_template("cases/timescale.html", case=case, form=form, problems=problems), status


@bp.post("/cases/<int:case_id>/timescale/accept")
@roles_required(*rules.ACTORS)
def accept(case_id: int) -> ResponseReturnValue:
    """Accept the timescale proposed by another agency."""
    case = _load(case_id)
    form = ButtonForm()
    form.validate_on_submit()
    try:
        timescales.accept_timescale(
            db.session(), web_ctx(), me().id, case.id, expected_version=_version(form)
        )
    except (Conflict, Invalid) as exc:
        stale = stale_problems(case.id, form, exc)
        flash(stale[0][0] if stale else exc.message[:1].upper() + exc.message[1:], "error")
    except ServiceError as exc:
        _refuse(exc)
        raise
    else:
        flash("You have agreed the timescale", "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/cases/<int:case_id>/actions/<action_key>", methods=["GET", "POST"])
@roles_required(*rules.ACTORS)
def act(case_id: int, action_key: str) -> ResponseReturnValue:
    """Escalate, resolve, withdraw or refer on, with the record, outcome and learning asked for."""
    ctx, user = web_ctx(), me()
    case = _load(case_id)
    definition = case.definition
    offered = {a.key for a in case.actions}
    action = definition.action(action_key)
    if action is None or action_key not in offered:
        abort(404 if action is None else 403)
    form = ActionForm()
    if not form.is_submitted():
        form.version.data = str(case.version)
    problems: list[Any] = []
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
            taken = case_service.take_action(
                db.session(),
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
            problems = stale_problems(case.id, form, exc) or add_errors(
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
            if taken.closing_status == "proposed":
                flash(
                    f"You have proposed it: {action.title.lower()}. The case closes once someone "
                    "from another agency involved confirms it",
                    "success",
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
        level_words=definition.level_words(case.state),
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
