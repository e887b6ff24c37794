"""Who is on an open case: bring in more agencies and people, hand a person's part over."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ..domain import rules
from ..extensions import db
from ..services import directory, parties, queries
from ..services.errors import NotFound, ServiceError
from ..services.loading import actor_of
from ..services.views import CaseView
from .cases import stale_problems
from .forms import HandoverForm, PartiesForm, add_errors, choices, person_choices
from .helpers import me, roles_required, web_ctx

bp = Blueprint("parties", __name__)


def _load(case_id: int) -> CaseView:
    try:
        return queries.read_case(db.session(), web_ctx(), me(), case_id)
    except NotFound:
        abort(404)


def _version(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def _refused(exc: ServiceError) -> None:
    if exc.status in (403, 404):
        abort(exc.status)


@bp.route("/cases/<int:case_id>/parties", methods=["GET", "POST"])
@roles_required(*rules.ACTORS)
def add(case_id: int) -> ResponseReturnValue:
    """Bring more agencies, or a person of an agency on the case, into an open case."""
    ctx, user = web_ctx(), me()
    case = _load(case_id)
    if not rules.may_add_parties(actor_of(user), case.access):
        abort(403)
    form = PartiesForm()
    if not form.is_submitted():
        form.version.data = str(case.version)
    on_case = {a.code for a in case.agencies}
    others = [
        a for a in directory.agencies(db.session(), ctx, active_only=True) if a.code not in on_case
    ]
    form.agencies.choices = choices((a.code, a.name) for a in others)
    involved = [a.id for a in directory.agencies_by_code(db.session(), ctx, on_case)]
    people = directory.people(db.session(), ctx, involved, excluding=[p.id for p in case.parties])
    form.person.choices = person_choices(people)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            parties.add_parties(
                db.session(),
                ctx,
                user.id,
                case.id,
                with_agencies=list(form.agencies.data or []),
                with_people=[form.person.data] if form.person.data else [],
                expected_version=_version(form.version.data),
            )
        except ServiceError as exc:
            _refused(exc)
            problems = stale_problems(case.id, form, exc) or add_errors(
                form, exc, {"with_agencies": "agencies", "with_people": "person", "version": ""}
            )
        else:
            flash("They have been added to the case and told about it", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    status = 400 if form.errors or problems else 200
    return render_template(
        "cases/parties.html", case=case, form=form, problems=problems, others=others
    ), status


@bp.route("/cases/<int:case_id>/handover", methods=["GET", "POST"])
@roles_required(*rules.STAFF)
def hand_over(case_id: int) -> ResponseReturnValue:
    """Hand the part of someone of the user's agency to a colleague of the same agency."""
    ctx, user = web_ctx(), me()
    case = _load(case_id)
    if not rules.may_hand_over(actor_of(user), case.access, user.agency.code):
        abort(403)
    form = HandoverForm()
    if not form.is_submitted():
        form.version.data = str(case.version)
    ours = [p for p in case.parties if p.agency == user.agency.code]
    form.leaving.choices = choices(
        [("", "Choose a person"), *((p.email, f"{p.name} ({p.role})") for p in ours)]
    )
    colleagues = directory.people(db.session(), ctx, [user.agency_id])
    form.joining.choices = person_choices(colleagues)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            parties.hand_over(
                db.session(),
                ctx,
                user.id,
                case.id,
                from_email=form.leaving.data or "",
                to_email=form.joining.data or "",
                reason=form.reason.data or "",
                expected_version=_version(form.version.data),
            )
        except ServiceError as exc:
            _refused(exc)
            problems = stale_problems(case.id, form, exc) or add_errors(
                form, exc, {"from": "leaving", "to": "joining", "reason": "reason", "version": ""}
            )
        else:
            flash("The part has been handed over, and both of them told", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    status = 400 if form.errors or problems else 200
    return render_template(
        "cases/handover.html", case=case, form=form, problems=problems, nobody=not ours
    ), status
