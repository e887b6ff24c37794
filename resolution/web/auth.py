"""Signing in and out with a password; sessions end when the account's epoch moves on."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput
from wtforms import PasswordField, SubmitField
from wtforms.validators import DataRequired

from ..extensions import db, login_manager
from ..models import User
from ..services import access, accounts
from ..services import core as service_core
from ..services.errors import ServiceError
from . import identity
from .forms import ButtonForm, SignInForm, add_errors
from .helpers import me, web_ctx
from .security import SignInThrottle

bp = Blueprint("auth", __name__)

FAILED = "Enter a correct email address and password"
USE_PROVIDER = "Your agency signs in with its own account here: use the button above"


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[DataRequired("Enter your current password")],
    )
    password = PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description="At least 12 characters. Three or four random words make a good password",
        validators=[DataRequired("Enter a new password")],
    )
    submit = SubmitField("Change password", widget=GovSubmitInput())


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the user of a session, or None when its epoch has moved on or the user is inactive."""
    ident, _, epoch = user_id.partition(":")
    if not ident.isdigit() or not epoch.isdigit():
        return None
    user = service_core.load_user(db.session(), int(ident))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    return user


def _safe_next(target: str | None) -> str:
    """Return a local path to go to after signing in, never another site."""
    if not target:
        return url_for("home.start")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.start")
    return target


def _throttle() -> SignInThrottle:
    return current_app.extensions["sign_in_throttle"]  # type: ignore[no-any-return]


def _log(user: User | None, email: str, what: str, note: str = "") -> None:
    """Write a sign-in, failed sign-in or sign-out to the access log.

    A failure is recorded under the account's e-mail only when there is such an account:
    whatever else was typed (a password, by mistake) is recorded as "unknown".
    """
    target = f"{request.remote_addr or 'unknown'}{note}"
    actor = user or accounts.sign_in_name(db.session(), web_ctx(), email)
    access.record_access(db.session(), web_ctx(), actor, what, target, "web")


def begin_session(user: User, note: str = "") -> None:
    """Sign a checked user in on this browser and log it; every way of signing in ends here."""
    login_user(user)
    _log(user, user.email, access.SIGNED_IN, note)


def end_session() -> None:
    """Sign the current user out on this browser and log it; every way of signing out ends here."""
    _log(me(), me().email, "signed_out")
    logout_user()


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """Ask for an e-mail address and password; say only that they do not match."""
    form = SignInForm()
    problem = None
    if form.validate_on_submit():
        email = form.email.data or ""
        address = request.remote_addr or "unknown"
        throttle = _throttle()
        wait = throttle.wait_left(email, address)
        if wait > 0:
            problem = f"Too many attempts to sign in. Wait {math.ceil(wait)} seconds and try again"
            _log(None, email, access.SIGN_IN_FAILED, " (too many attempts: not checked)")
        else:
            user = accounts.check_password(db.session(), web_ctx(), email, form.password.data or "")
            if user is None:
                throttle.failed(email, address)
                _log(None, email, access.SIGN_IN_FAILED)
                problem = FAILED
            elif not identity.passwords_allowed(user):  # the agency signs in with its provider
                _log(user, email, access.SIGN_IN_FAILED, " (agency signs in with its provider)")
                problem = USE_PROVIDER
            else:
                throttle.succeeded(email, address)
                begin_session(user)
                return redirect(_safe_next(request.args.get("next")))
    status = 200 if problem is None and not form.errors else 400
    return render_template("auth/sign_in.html", form=form, problem=problem), status


@bp.post("/sign-out")
@login_required
def sign_out() -> ResponseReturnValue:
    """End the session."""
    form = ButtonForm()
    if form.validate_on_submit():
        offer = identity.sign_out_offer()  # read before the session ends
        end_session()
        if offer is not None:
            return render_template("identity/signed_out.html", offer=offer)
        flash("You have signed out", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change one's own password: other sessions end and API tokens are revoked."""
    form = ChangePasswordForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            user = accounts.change_password(
                db.session(), web_ctx(), me().id, form.current.data or "", form.password.data or ""
            )
        except ServiceError as exc:
            problems = add_errors(form, exc, {})
        else:
            login_user(user)  # this session again, at the new epoch that ended the others
            flash(
                "Your password has been changed. Your other sessions have ended and "
                "your API tokens have been revoked",
                "success",
            )
            return redirect(url_for("home.start"))
    status = 400 if form.errors or problems else 200
    return render_template("auth/password.html", form=form, problems=problems), status


def init_app(app: Flask) -> None:
    """Configure Flask-Login for the pages."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = ""  # the sign-in page explains itself
    login_manager.session_protection = "basic"
