"""How a manager or lead gets e-mails: one a day (the digest) or one for each change."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import RadioField, SubmitField
from wtforms.validators import DataRequired

from ..domain import rules
from ..extensions import db
from ..services import digest
from ..services.errors import ServiceError
from .forms import Form, RadioInput, add_errors, choices
from .helpers import me, roles_required, web_ctx

bp = Blueprint("account", __name__)
DAILY, EACH = "daily", "each"


class EmailsForm(Form):
    how = RadioField(
        "How do you want to get e-mails about your agency's cases?",
        choices=choices([(DAILY, "One e-mail a day"), (EACH, "An e-mail for each change")]),
        widget=RadioInput(),
        description=(
            "One e-mail a day lists your agency's cases that are overdue or due soon, each "
            "morning. Urgent cases and e-mails to you by name still come at once."
        ),
        validators=[DataRequired("Select how you want to get e-mails")],
    )
    submit = SubmitField("Save", widget=GovSubmitInput())


@bp.route("/account/email", methods=["GET", "POST"])
@roles_required(*rules.DIGEST_ROLES)
def emails() -> ResponseReturnValue:
    """Choose one e-mail a day or one for each change (`rules.DIGEST_ROLES` only)."""
    user = me()
    form = EmailsForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            digest.set_digest(db.session(), web_ctx(), user.id, form.how.data == DAILY)
        except ServiceError as exc:
            problems = add_errors(form, exc, {})
        else:
            flash(
                "You will get one e-mail a day"
                if form.how.data == DAILY
                else "You will get an e-mail for each change",
                "success",
            )
            return redirect(url_for("account.emails"))
    elif not form.is_submitted():
        form.how.data = DAILY if user.digest else EACH
    status = 400 if form.errors or problems else 200
    return render_template("account/emails.html", form=form, problems=problems), status
