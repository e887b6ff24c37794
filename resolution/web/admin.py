"""Administration: agencies, users, roles, passwords, tokens and the loaded workflows."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ..extensions import db
from ..models import User
from ..services import accounts, directory
from ..services.errors import ServiceError
from .admin_forms import AgencyForm, PasswordForm, RoleForm, UserForm
from .forms import ButtonForm, add_errors, choices
from .helpers import me, roles_required, web_ctx

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("")
@roles_required("admin")
def index() -> ResponseReturnValue:
    """List agencies, users and the loaded workflow definitions."""
    ctx = web_ctx()
    found = accounts.overview(db.session(), ctx)
    return render_template(
        "admin/index.html",
        agencies=found.agencies,
        users=found.users,
        tokens=found.live_tokens,
        definitions=ctx.workflows.registry.all(),
        default_key=ctx.workflows.registry.default_key,
    )


@bp.route("/agencies/new", methods=["GET", "POST"])
@roles_required("admin")
def new_agency() -> ResponseReturnValue:
    """Add an agency."""
    form = AgencyForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            agency = accounts.create_agency(
                db.session(),
                web_ctx(),
                form.code.data or "",
                form.name.data or "",
                actor=me().email,
                contact_email=form.contact_email.data or None,
            )
        except ServiceError as exc:
            problems = add_errors(form, exc, {})
        else:
            flash(f"Agency {agency.code} added", "success")
            return redirect(url_for("admin.index"))
    return render_template(
        "admin/agency.html", form=form, problems=problems
    ), 400 if form.errors or problems else 200


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def new_user() -> ResponseReturnValue:
    """Add a user with a password."""
    form = UserForm()
    active = directory.agencies(db.session(), web_ctx(), active_only=True)
    form.agency.choices = choices([("", "Select an agency"), *((a.code, a.name) for a in active)])
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                db.session(),
                web_ctx(),
                email=form.email.data or "",
                name=form.name.data or "",
                agency=form.agency.data or "",
                role=form.role.data or "",
                password=form.password.data or "",
                actor=me().email,
            )
        except ServiceError as exc:
            problems = add_errors(form, exc, {})
        else:
            flash(f"User {user.email} added", "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template(
        "admin/new_user.html", form=form, problems=problems
    ), 400 if form.errors or problems else 200


def _user(user_id: int) -> User:
    user = accounts.user_by_id(db.session(), web_ctx(), user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users/<int:user_id>")
@roles_required("admin")
def user(user_id: int) -> ResponseReturnValue:
    """Show one user with the forms that change their account."""
    found = _user(user_id)
    return _user_page(found, RoleForm(role=found.role), PasswordForm(), [])


def _user_page(
    found: User,
    role_form: RoleForm,
    password_form: PasswordForm,
    problems: list[str],
    status: int = 200,
) -> ResponseReturnValue:
    ctx = web_ctx()
    return render_template(
        "admin/user.html",
        found=found,
        role_form=role_form,
        password_form=password_form,
        button=ButtonForm(),
        live_tokens=sum(
            1 for t in accounts.tokens_of(db.session(), ctx, found.id) if t.live_at(ctx.now)
        ),
        problems=problems,
    ), status


@bp.post("/users/<int:user_id>/role")
@roles_required("admin")
def change_role(user_id: int) -> ResponseReturnValue:
    """Change a user's role (their sessions end)."""
    found = _user(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _user_page(found, form, PasswordForm(formdata=None), [], 400)
    try:
        accounts.set_role(
            db.session(), web_ctx(), found.email, form.role.data or "", actor=me().email
        )
    except ServiceError as exc:
        return _user_page(found, form, PasswordForm(formdata=None), add_errors(form, exc, {}), 400)
    flash(f"{found.name} is now: {form.role.data}", "success")
    return redirect(url_for("admin.user", user_id=found.id))


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def reset_password(user_id: int) -> ResponseReturnValue:
    """Set a new password; the user's sessions end at once."""
    found = _user(user_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        return _user_page(found, RoleForm(formdata=None, role=found.role), form, [], 400)
    try:
        accounts.set_password(
            db.session(), web_ctx(), found.email, form.password.data or "", actor=me().email
        )
    except ServiceError as exc:
        problems = add_errors(form, exc, {})
        return _user_page(found, RoleForm(formdata=None, role=found.role), form, problems, 400)
    flash(
        f"The password of {found.name} has been reset, their sessions ended and their API tokens revoked",
        "success",
    )
    return redirect(url_for("admin.user", user_id=found.id))


@bp.post("/users/<int:user_id>/revoke-tokens")
@roles_required("admin")
def revoke_tokens(user_id: int) -> ResponseReturnValue:
    """Revoke every live API token of a user."""
    found = _user(user_id)
    ButtonForm().validate_on_submit()
    count = accounts.revoke_tokens(db.session(), web_ctx(), found.email, actor=me().email)
    flash(f"{count} API token{'s' if count != 1 else ''} revoked", "success")
    return redirect(url_for("admin.user", user_id=found.id))


@bp.post("/users/<int:user_id>/active")
@roles_required("admin")
def toggle_active(user_id: int) -> ResponseReturnValue:
    """Deactivate an active user (sessions and tokens end) or reactivate an inactive one."""
    found = _user(user_id)
    ButtonForm().validate_on_submit()
    if found.id == me().id:
        flash("You cannot deactivate your own account", "error")
        return redirect(url_for("admin.user", user_id=found.id))
    accounts.set_active(db.session(), web_ctx(), found.email, not found.active, actor=me().email)
    flash(f"{found.name} is now {'active' if found.active else 'deactivated'}", "success")
    return redirect(url_for("admin.user", user_id=found.id))
