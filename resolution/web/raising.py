"""Raise a disagreement: GOV.UK question pages, a check-your-answers page, then one service call.

Answers wait between pages in a draft on the server, its author's alone (the cookie
holds only which draft); no case is made until the user confirms on the check page.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from ..domain import rules
from ..domain.definitions import Definition
from ..extensions import db
from ..services import cases as case_service
from ..services import directory, drafts, notify
from ..services.errors import Conflict, Forbidden, Invalid, ServiceError
from .forms import ButtonForm, choices, person_choices
from .helpers import LONDON, drafts_kept, me, roles_required, web_ctx
from .raise_forms import AboutForm, AgenciesForm, PeopleForm, ReferralForm, RiskForm

bp = Blueprint("raising", __name__, url_prefix="/raise")
KEY = "raise_draft"
RAISERS = rules.RAISERS
FIELDS_TO_PAGE = {
    "child_ref": "about",
    "child_initials": "about",
    "category": "about",
    "summary": "about",
    "workflow": "about",
    "with_agencies": "people",  # an agency nobody would hear from: name someone there
    "with_people": "people",
    "immediate_risk.referred_to": "referral",
    "immediate_risk.at": "referral",
}


def _answers() -> dict[str, Any]:
    return drafts.answers_of(db.session(), web_ctx(), me().id, session.get(KEY), drafts_kept())


def _store(answers: dict[str, Any]) -> None:
    session[KEY] = drafts.save(
        db.session(), web_ctx(), me().id, session.get(KEY), answers, drafts_kept()
    )


def _save(**values: Any) -> None:
    answers = _answers()
    answers.update(values)
    _store(answers)


def _next(default: str) -> ResponseReturnValue:
    """Go back to the check page when changing an answer, else to the next question."""
    if request.args.get("change") and _missing(_answers()) is None:
        return redirect(url_for("raising.check"))
    return redirect(url_for(default))


def _missing(answers: dict[str, Any]) -> str | None:
    """Return the endpoint of the first question not yet answered, or None."""
    if "risk" not in answers:
        return "raising.risk"
    if answers["risk"] == "yes" and "referred_to" not in answers:
        return "raising.referral"
    if "agencies" not in answers:
        return "raising.agencies"
    if "summary" not in answers:
        return "raising.about"
    return None


def _rechecking() -> bool:
    """Whether this is a change link from Check your answers: the page then checks the stored
    answers again, so that it shows what is wrong with them."""
    return request.method == "GET" and bool(request.args.get("change"))


def _form_options() -> dict[str, Any]:
    return {"meta": {"csrf": False}} if _rechecking() else {}


def _definitions() -> list[Definition]:
    return web_ctx().workflows.registry.latest_all()


def _default_definition() -> Definition:
    registry = web_ctx().workflows.registry
    return registry.latest(registry.default_key)


@bp.get("")
@roles_required(*RAISERS)
def start() -> ResponseReturnValue:
    """Start a new disagreement with empty answers (earlier drafts stay on Your cases)."""
    session.pop(KEY, None)
    return redirect(url_for("raising.risk"))


@bp.get("/drafts/<int:draft_id>")
@roles_required(*RAISERS)
def resume(draft_id: int) -> ResponseReturnValue:
    """Go on with one of one's own drafts, at its first unanswered question."""
    answers = drafts.answers_of(db.session(), web_ctx(), me().id, draft_id, drafts_kept())
    if not answers:
        abort(404)
    session[KEY] = draft_id
    return redirect(url_for(_missing(answers) or "raising.check"))


@bp.post("/drafts/<int:draft_id>/discard")
@roles_required(*RAISERS)
def discard(draft_id: int) -> ResponseReturnValue:
    """Delete one of one's own drafts."""
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    if not drafts.discard(db.session(), web_ctx(), me().id, draft_id):
        abort(404)
    if session.get(KEY) == draft_id:
        session.pop(KEY, None)
    flash("Your draft has been deleted", "success")
    return redirect(url_for("cases.your_cases", _anchor="drafts"))


@bp.route("/risk", methods=["GET", "POST"])
@roles_required(*RAISERS)
def risk() -> ResponseReturnValue:
    """Ask whether a child is at immediate risk, with who to refer to first."""
    form = RiskForm(data={"risk": _answers().get("risk")} if request.method == "GET" else None)
    if form.validate_on_submit():
        _save(risk=form.risk.data)
        if form.risk.data == "yes":
            return redirect(
                url_for("raising.referral", change=1 if request.args.get("change") else None)
            )
        answers = _answers()
        for name in ("referred_to", "referral_date"):
            answers.pop(name, None)
        _store(answers)
        return _next("raising.agencies")
    definition = _default_definition()
    return render_template(
        "raise/risk.html", form=form, urgent=definition.urgent, definition=definition
    ), 400 if form.errors else 200


@bp.route("/referral", methods=["GET", "POST"])
@roles_required(*RAISERS)
def referral() -> ResponseReturnValue:
    """Ask who the child protection referral was made to, and when."""
    answers = _answers()
    if answers.get("risk") != "yes":
        return redirect(url_for("raising.risk"))
    data = None
    if request.method == "GET" and "referred_to" in answers:
        data = {
            "referred_to": answers["referred_to"],
            "referral_date": date.fromisoformat(answers["referral_date"]),
        }
    form = ReferralForm(data=data)
    if form.validate_on_submit():
        assert form.referral_date.data is not None
        if form.referral_date.data > web_ctx().now.astimezone(LONDON).date():
            form.referral_date.errors = ["The date of the referral must be today or in the past"]
            form._errors = None
        else:
            _save(
                referred_to=form.referred_to.data, referral_date=form.referral_date.data.isoformat()
            )
            return _next("raising.agencies")
    return render_template(
        "raise/referral.html", form=form, urgent=_default_definition().urgent
    ), 400 if form.errors else 200


@bp.route("/agencies", methods=["GET", "POST"])
@roles_required(*RAISERS)
def agencies() -> ResponseReturnValue:
    """Ask which agencies the disagreement is with."""
    answers = _answers()
    if "risk" not in answers:
        return redirect(url_for("raising.risk"))
    data = (
        {"agencies": answers["agencies"]}
        if request.method == "GET" and "agencies" in answers
        else None
    )
    form = AgenciesForm(data=data, **_form_options())
    others = directory.agencies(db.session(), web_ctx(), active_only=True, excluding=me().agency_id)
    form.agencies.choices = choices((a.code, a.name) for a in others)
    if _rechecking():
        form.validate()  # show what is wrong with the stored answer
    if form.validate_on_submit():
        chosen = list(form.agencies.data or [])
        # Keep the people already named who are of an agency still chosen.
        known = {u.email for u in _candidates(chosen)}
        _save(agencies=chosen, people=[e for e in answers.get("people", []) if e in known])
        return redirect(url_for("raising.people", change=request.args.get("change") or None))
    return render_template("raise/agencies.html", form=form), 400 if form.errors else 200


def _candidates(codes: list[str]) -> list[Any]:
    """Return the people a new case may name: of the chosen agencies or the raiser's own."""
    ctx, user = web_ctx(), me()
    chosen = directory.agencies_by_code(db.session(), ctx, codes)
    ids = [user.agency_id, *(a.id for a in chosen)]
    return directory.people(db.session(), ctx, ids, excluding=[user.id])


@bp.route("/people", methods=["GET", "POST"])
@roles_required(*RAISERS)
def people() -> ResponseReturnValue:
    """Ask who at the chosen agencies the disagreement is with, picked by name one at a time
    (a plain select, a type-ahead with JavaScript), and say how each agency will be reached."""
    answers = _answers()
    if "agencies" not in answers:
        return redirect(url_for("raising.agencies"))
    candidates = {u.email: u for u in _candidates(answers["agencies"])}
    named = [e for e in answers.get("people", []) if e in candidates]
    form = PeopleForm()
    form.person.choices = person_choices(u for e, u in candidates.items() if e not in named)
    if form.validate_on_submit():
        removing = request.form.get("remove")
        picked = form.person.data or ""
        if removing:
            _save(people=[e for e in named if e != removing])
            return redirect(url_for("raising.people", change=request.args.get("change") or None))
        if picked:
            named.append(picked)
        _save(people=named)
        if request.form.get("action") == "add":
            if picked:
                return redirect(
                    url_for("raising.people", change=request.args.get("change") or None)
                )
            form.person.errors = ["Choose a person to add, or continue"]
        elif not _unreached(form, answers["agencies"], [candidates[e] for e in named]):
            return _next("raising.about")
    elif _rechecking():
        _unreached(form, answers["agencies"], [candidates[e] for e in named])
    chosen = directory.agencies_by_code(db.session(), web_ctx(), answers["agencies"])
    reached = notify.reaches(db.session(), chosen, [candidates[e] for e in named])
    return render_template(
        "raise/people.html",
        form=form,
        named=[candidates[e] for e in named],
        reached=reached,
        ask_whom=notify.ask_whom(db.session()),
    ), 400 if form.errors else 200


def _unreached(form: PeopleForm, codes: list[str], named: list[Any]) -> bool:
    """Say on the page, as raising would refuse, that a chosen agency would reach nobody."""
    chosen = directory.agencies_by_code(db.session(), web_ctx(), codes)
    try:
        notify.refuse_unreached(db.session(), notify.reaches(db.session(), chosen, named))
    except Invalid as exc:
        messages = exc.fields.get("with_agencies", [exc.message])
        form.person.errors = [*form.person.errors, *(m[:1].upper() + m[1:] for m in messages)]
        form._errors = None  # WTForms caches the form's errors: ask it again
        return True
    return False


@bp.route("/about", methods=["GET", "POST"])
@roles_required(*RAISERS)
def about() -> ResponseReturnValue:
    """Ask for the case reference, what the disagreement is about and a description."""
    answers = _answers()
    if "agencies" not in answers:
        return redirect(url_for("raising.agencies"))
    definitions = _definitions()
    data = None
    if request.method == "GET":
        data = {k: answers.get(k) for k in ("child_ref", "child_initials", "category", "summary")}
        data["workflow"] = answers.get("workflow") or _default_definition().key
    form = AboutForm(data=data, **_form_options())
    form.workflow.choices = choices((d.key, d.title) for d in definitions)
    if _rechecking():
        form.validate()
    if form.validate_on_submit():
        _save(
            workflow=form.workflow.data,
            child_ref=(form.child_ref.data or "").strip(),
            child_initials=(form.child_initials.data or "").strip().upper(),
            category=form.category.data,
            summary=form.summary.data,
        )
        return redirect(url_for("raising.check"))
    return render_template("raise/about.html", form=form), 400 if form.errors else 200


@bp.route("/check", methods=["GET", "POST"])
@roles_required(*RAISERS)
def check() -> ResponseReturnValue:
    """Show every answer with a link to change it; raise the disagreement on confirmation."""
    answers = _answers()
    missing = _missing(answers)
    if missing:
        return redirect(url_for(missing))
    ctx = web_ctx()
    form = ButtonForm()
    problems: list[tuple[str, str]] = []
    if form.validate_on_submit():
        risk_answer = None
        if answers["risk"] == "yes":
            day = date.fromisoformat(answers["referral_date"])
            at = datetime.combine(day, time(0, 0), tzinfo=LONDON)
            risk_answer = case_service.ImmediateRisk(
                referral_made=True, referred_to=answers["referred_to"], at=min(at, ctx.now)
            )
        try:
            case = case_service.raise_case(
                db.session(),
                ctx,
                me().id,
                child_ref=answers["child_ref"],
                category=answers["category"],
                summary=answers["summary"],
                with_agencies=answers["agencies"],
                with_people=answers.get("people", []),
                child_initials=answers.get("child_initials") or None,
                workflow=answers.get("workflow"),
                immediate_risk=risk_answer,
                draft_id=session.get(KEY),
            )
        except Conflict:  # the draft was raised by a second click a moment ago, or deleted
            session.pop(KEY, None)
            flash("This draft has been raised or deleted already: it is not raised again", "info")
            return redirect(url_for("cases.your_cases"))
        except ServiceError as exc:
            if isinstance(exc, Forbidden):
                abort(403)
            for name, messages in (exc.fields or {"": [exc.message]}).items():
                page = FIELDS_TO_PAGE.get(name, "about")
                problems.extend(
                    (message, url_for(f"raising.{page}", change=1)) for message in messages
                )
        else:
            session.pop(KEY, None)
            flash(f"Disagreement raised: your reference is {case.reference}", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    names = directory.agency_names(db.session(), ctx)
    definition = ctx.workflows.registry.latest(
        answers.get("workflow") or ctx.workflows.registry.default_key
    )
    return render_template(
        "raise/check.html",
        answers=answers,
        form=form,
        problems=problems,
        agency_names=[names.get(code, code) for code in answers["agencies"]],
        people_names=[
            f"{u.name} ({u.agency.name})"
            for u in _candidates(answers["agencies"])
            if u.email in answers.get("people", [])
        ],
        category=rules.CATEGORIES.get(answers["category"], answers["category"]),
        definition=definition,
    ), 400 if problems else 200
