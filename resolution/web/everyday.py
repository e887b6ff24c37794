"""The everyday steps on a case's pages: an agreed action done or withdrawn, a proposed
timescale declined, a proposed closing confirmed or declined. Each page is offered to
exactly those the domain's rules allow, and the service decides again."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ..domain import rules
from ..extensions import db
from ..services import action_items, closing, timescales
from ..services.errors import Conflict, Invalid, ServiceError
from ..services.loading import actor_of
from ..services.views import CaseView, RecordView
from .cases import _load, _refuse, _version, bp, stale_problems
from .forms import ButtonForm, NoteForm, ReasonForm, add_errors
from .helpers import london, me, roles_required, web_ctx


def _action(case: CaseView, record_id: int) -> RecordView:
    """Return an open agreed action of the case the user may end, or answer 404 / 403."""
    record = next((r for r in case.records if r.id == record_id), None)
    if record is None or not record.open_action:
        abort(404)
    owner = rules.Owner(record.author.id, record.author.agency)
    if not rules.may_end_action(actor_of(me()), case.access, case.definition, owner):
        abort(403)
    return record


def _text_page(case: CaseView, form: Any, problems: list[str], **words: Any) -> ResponseReturnValue:
    status = 400 if form.errors or problems else 200
    page = render_template("cases/reason.html", case=case, form=form, problems=problems, **words)
    return page, status


def _submit(
    form: Any, call: Any, done: str, back: str, case_id: int | None = None
) -> tuple[list[Any], Any]:
    """Run the service `call` for a valid form; return (problems, a redirect when it worked).
    Given the case of a form that carries its version, a stale one says what changed."""
    if not form.validate_on_submit():
        return [], None
    try:
        call()
    except ServiceError as exc:
        _refuse(exc)
        stale = stale_problems(case_id, form, exc) if case_id is not None else None
        return stale or add_errors(form, exc, {"note": "text", "reason": "text"}), None
    flash(done, "success")
    return [], redirect(back)


@bp.route("/cases/<int:case_id>/records/<int:record_id>/done", methods=["GET", "POST"])
@roles_required(*rules.ACTORS)
def action_done(case_id: int, record_id: int) -> ResponseReturnValue:
    """Mark an agreed action as done, with an optional note."""
    case = _load(case_id)
    record = _action(case, record_id)
    form = NoteForm()
    problems, answer = _submit(
        form,
        lambda: action_items.mark_done(
            db.session(), web_ctx(), me().id, record.id, note=form.text.data or None
        ),
        "The action is marked as done",
        url_for("cases.show", case_id=case.id) + "#actions",
    )
    return answer or _text_page(
        case, form, problems,
        heading="Mark the action as done", quote=record.text, button="Mark as done",
        label="How was it done? (optional)",
        explain="Everyone involved sees that it is done; it is no longer flagged as overdue.",
    )  # fmt: skip


@bp.route("/cases/<int:case_id>/records/<int:record_id>/withdraw", methods=["GET", "POST"])
@roles_required(*rules.ACTORS)
def action_withdraw(case_id: int, record_id: int) -> ResponseReturnValue:
    """Withdraw an agreed action that is no longer needed, saying why."""
    case = _load(case_id)
    record = _action(case, record_id)
    form = ReasonForm()
    problems, answer = _submit(
        form,
        lambda: action_items.withdraw_action(
            db.session(), web_ctx(), me().id, record.id, reason=form.text.data or ""
        ),
        "The action is withdrawn",
        url_for("cases.show", case_id=case.id) + "#actions",
    )
    return answer or _text_page(
        case, form, problems,
        heading="Withdraw the action", quote=record.text, button="Withdraw the action",
        label="Why is it no longer needed?",
        explain="Everyone involved sees that it was withdrawn and why.",
    )  # fmt: skip


@bp.route("/cases/<int:case_id>/timescale/decline", methods=["GET", "POST"])
@roles_required(*rules.ACTORS)
def decline_timescale(case_id: int) -> ResponseReturnValue:
    """Decline the timescale another agency proposed, saying why."""
    ctx, case = web_ctx(), _load(case_id)
    step = case.step
    proposal = step.proposal if step else None
    if not rules.may_decline(actor_of(me()), case.access, case.definition, proposal):
        abort(403)
    form = ReasonForm()
    if not form.is_submitted():
        form.version.data = str(case.version)
    problems, answer = _submit(
        form,
        lambda: timescales.decline_timescale(
            db.session(), ctx, me().id, case.id, reason=form.text.data or "",
            expected_version=_version(form),
        ),
        "You have declined the proposed timescale. The person who proposed it has been told",
        url_for("cases.show", case_id=case.id),
        case_id=case.id,
    )  # fmt: skip
    return answer or _text_page(
        case, form, problems,
        heading="Decline the proposed timescale", button="Decline the timescale",
        quote=_proposed(case),
        label="Why do you decline it?",
        explain="The due date stays as it is. The person who proposed it is told.",
    )  # fmt: skip


@bp.post("/cases/<int:case_id>/closing/confirm")
@roles_required(*rules.ACTORS)
def confirm_closing(case_id: int) -> ResponseReturnValue:
    """Confirm the closing another agency proposed: the case closes."""
    case = _load(case_id)
    form = ButtonForm()
    form.validate_on_submit()
    try:
        closing.confirm_closing(
            db.session(), web_ctx(), me().id, case.id, expected_version=_version(form)
        )
    except (Conflict, Invalid) as exc:
        stale = stale_problems(case.id, form, exc)
        flash(stale[0][0] if stale else exc.message[:1].upper() + exc.message[1:], "error")
    except ServiceError as exc:
        _refuse(exc)
        raise
    else:
        flash("You have confirmed it: the case is closed", "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/cases/<int:case_id>/closing/decline", methods=["GET", "POST"])
@roles_required(*rules.ACTORS)
def decline_closing(case_id: int) -> ResponseReturnValue:
    """Decline the closing another agency proposed, saying why: the case stays open."""
    ctx, case = web_ctx(), _load(case_id)
    if case.closing is None or not rules.may_answer_closing(
        actor_of(me()), case.access, case.definition
    ):
        abort(403)
    form = ReasonForm()
    if not form.is_submitted():
        form.version.data = str(case.version)
    problems, answer = _submit(
        form,
        lambda: closing.decline_closing(
            db.session(), ctx, me().id, case.id, reason=form.text.data or "",
            expected_version=_version(form),
        ),
        "You have declined it: the case stays open at its level. The proposer has been told",
        url_for("cases.show", case_id=case.id),
        case_id=case.id,
    )  # fmt: skip
    return answer or _text_page(
        case, form, problems,
        heading=f"Decline: {case.closing.title.lower()}", button="Decline",
        quote=case.closing.outcome_text or "", label="Why do you decline it?",
        explain="The case stays open at its level, its clock running. The proposer is told.",
    )  # fmt: skip


def _proposed(case: CaseView) -> str:
    ts = case.step.timescale if case.step else None
    if ts is None or ts.proposed_by is None or ts.proposed_due_at is None:
        return ""
    return f"Proposed by {ts.proposed_by.name}: due {london(ts.proposed_due_at)}"
