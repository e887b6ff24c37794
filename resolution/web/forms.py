"""The WTForms forms of the web pages, rendered through the GOV.UK macros."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovDateInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    DateField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)

# WTForms 3.3 has SelectChoice (tuples are deprecated); types-WTForms still describes 3.2.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..domain import rules
from ..services.errors import ServiceError

DATE_FORMAT = "%d %m %Y"


class QuestionLegend:
    """A group of controls named by its question: the field's label is the fieldset's legend,
    also when the page passes fieldset parameters (which would otherwise replace it)."""

    def map_gov_params(self, field: Any, **kwargs: Any) -> dict[str, Any]:
        params: dict[str, Any] = super().map_gov_params(field, **kwargs)  # type: ignore[misc]
        fieldset = params.setdefault("fieldset", {})
        legend = fieldset.setdefault("legend", {})
        if not legend.get("text") and not legend.get("html"):
            legend["text"] = field.label.text
        return params


class RadioInput(QuestionLegend, GovRadioInput):
    """GOV.UK radios whose legend is the field's question."""


class CheckboxesInput(QuestionLegend, GovCheckboxesInput):
    """GOV.UK checkboxes whose legend is the field's question."""


class DateInput(QuestionLegend, GovDateInput):
    """GOV.UK day, month and year boxes, named by the field's question, that also render when
    the date was not sent at all."""

    def map_gov_params(self, field: Any, **kwargs: Any) -> dict[str, Any]:
        if field.raw_data is not None and len(field.raw_data) != 3:
            field.raw_data = None
        return super().map_gov_params(field, **kwargs)


def printable(form: Any, field: Any) -> None:
    """Refuse text with control characters other than tab and new lines (the domain's rule)."""
    if field.data and not rules.printable(field.data):
        raise ValidationError(rules.NOT_PRINTABLE)


def in_years(form: Any, field: Any) -> None:
    """Refuse a day outside the years the service takes (the domain's range)."""
    if field.data is not None and not rules.in_range(field.data):
        raise ValidationError(rules.OUT_OF_RANGE)


class Form(FlaskForm):
    """A form whose every text field is checked by `printable` and every day by `in_years`."""

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        extra = {name: list(checks) for name, checks in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, StringField) and not isinstance(field, HiddenField):
                extra.setdefault(name, []).append(printable)
            elif isinstance(field, DateField):
                extra.setdefault(name, []).append(in_years)
        return bool(super().validate(extra_validators=extra))


def choices(pairs: Any) -> list[Any]:
    """Return the choices of a field from (value, label) pairs or a mapping."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [SelectChoice(str(value), str(label)) for value, label in items]


def add_errors(form: FlaskForm, exc: ServiceError, fields: Mapping[str, str]) -> list[str]:
    """Put a service's refusal on the form's fields; return messages that fit no field."""
    left: list[str] = []
    for name, messages in (exc.fields or {}).items():
        field = getattr(form, fields.get(name, name), None) if fields.get(name, name) else None
        if field is None or isinstance(field, HiddenField):
            if exc.message not in left:
                left.append(exc.message)
            continue
        field.errors = [*field.errors, *(m[:1].upper() + m[1:] for m in messages)]
    if not exc.fields:
        left.append(exc.message)
    form._errors = None  # recompute the summary from the fields
    return left


class SignInForm(Form):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        validators=[DataRequired("Enter your email address")],
    )
    password = PasswordField(
        "Password", widget=GovPasswordInput(), validators=[DataRequired("Enter your password")]
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


def new_password() -> PasswordField:
    """The new-password field, as changing and resetting a password both ask it."""
    return PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description="At least 12 characters. Three or four random words make a good password",
        validators=[DataRequired("Enter a new password")],
    )


class ChangePasswordForm(Form):
    current = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[DataRequired("Enter your current password")],
    )
    password = new_password()
    submit = SubmitField("Change password", widget=GovSubmitInput())


class ForgottenForm(Form):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        validators=[DataRequired("Enter your email address")],
    )
    submit = SubmitField("Send me a link", widget=GovSubmitInput())


class ResetForm(Form):
    password = new_password()
    submit = SubmitField("Set my password", widget=GovSubmitInput())


class ButtonForm(Form):
    """A form that is only a button: the CSRF token and the case version it acts on."""

    version = HiddenField()


class RecordForm(Form):
    kind = RadioField(
        "What kind of record is this?",
        choices=choices(
            [
                ("discussion", "A discussion"),
                ("action", "An agreed action, with its own deadline"),
                ("decision", "A decision, with its rationale"),
                ("note", "A note"),
            ]
        ),
        widget=RadioInput(),
        validators=[DataRequired("Select what kind of record this is")],
    )
    text = TextAreaField(
        "Record",
        widget=GovTextArea(),
        description=(
            "Records are shared with every party and can never be changed: "
            "a correction is a new record."
        ),
        validators=[DataRequired("Enter the record"), Length(max=rules.MAX_RECORD)],
    )
    action_due = DateField(
        "If it is an action, when is it due?",
        widget=DateInput(),
        format=DATE_FORMAT,
        description="For example, 27 3 2026. Leave empty for other records.",
        validators=[Optional()],
    )
    submit = SubmitField("Add to the record", widget=GovSubmitInput())

    def validate_action_due(self, field: DateField) -> None:
        """Ask for a deadline for an action, and for none otherwise."""
        if self.kind.data == "action" and field.data is None:
            raise ValidationError("Enter the date the action is due")
        if self.kind.data != "action" and field.data is not None:
            raise ValidationError("Only an action has a due date: leave the date empty")


class TimescaleForm(Form):
    version = HiddenField()
    due = DateField(
        "When should this level be decided by?",
        widget=DateInput(),
        format=DATE_FORMAT,
        description="The end of the working day on that date. For example, 27 3 2026",
        validators=[DataRequired("Enter the date as day, month and year")],
    )
    reason = TextAreaField(
        "Why this timescale?",
        widget=GovTextArea(),
        validators=[
            DataRequired("Enter why you propose this timescale"),
            Length(max=rules.MAX_REASON),
        ],
    )
    submit = SubmitField("Propose this timescale", widget=GovSubmitInput())


class NoteForm(Form):
    """An optional note, such as how an agreed action was done."""

    version = HiddenField()
    text = TextAreaField(
        "Note (optional)",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=rules.MAX_REASON)],
    )


class ReasonForm(Form):
    """A reason that must be given, such as why a timescale or a closing is declined."""

    version = HiddenField()
    text = TextAreaField(
        "Reason",
        widget=GovTextArea(),
        validators=[DataRequired("Enter the reason"), Length(max=rules.MAX_REASON)],
    )


class ActionForm(Form):
    version = HiddenField()
    record = TextAreaField(
        "Record of the decision",
        widget=GovTextArea(),
        description=(
            "What was discussed and why this action is taken. It is added to the shared record."
        ),
        validators=[Length(max=rules.MAX_RECORD)],
    )
    outcome = TextAreaField(
        "Outcome",
        widget=GovTextArea(),
        description="What was agreed or decided.",
        validators=[Length(max=rules.MAX_OUTCOME)],
    )
    referred_to = StringField(
        "Referred to", widget=GovTextInput(), validators=[Length(max=rules.MAX_REFERRED_TO)]
    )
    learning = TextAreaField(
        "Learning identified (optional)",
        widget=GovTextArea(),
        description="What the agencies can learn from this disagreement.",
        validators=[Length(max=rules.MAX_LEARNING)],
    )
    themes = SelectMultipleField(
        "Learning themes (optional)",
        choices=choices(rules.THEMES),
        widget=CheckboxesInput(),
        description="Select all that the learning touches",
        validators=[Optional()],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


def person_choices(people: Any) -> list[Any]:
    """Return the choices of a person select: a blank first, then 'Name (Agency, role)'."""
    return choices(
        [("", "Choose a person")]
        + [(u.email, f"{u.name} ({u.agency.name}, {u.role})") for u in people]
    )


class PartiesForm(Form):
    version = HiddenField()
    agencies = SelectMultipleField(
        "Which agencies should join the case?",
        widget=CheckboxesInput(),
        description="Select any that apply. Nobody named there? Its designated leads are told.",
        validators=[Optional()],
    )
    person = SelectField(
        "Who should join the case?",
        widget=GovSelect(),
        description="Start typing a name. People of the agencies on the case; "
        "to name someone at a new agency, add the agency first.",
        validators=[Optional()],
    )
    submit = SubmitField("Add to the case", widget=GovSubmitInput())


class HandoverForm(Form):
    version = HiddenField()
    leaving = SelectField(
        "Whose part are you handing over?",
        widget=GovSelect(),
        validators=[DataRequired("Choose whose part you are handing over")],
    )
    joining = SelectField(
        "Who takes it over?",
        widget=GovSelect(),
        description="A colleague of the same agency. Start typing a name.",
        validators=[DataRequired("Choose who takes it over")],
    )
    reason = TextAreaField(
        "Why?",
        widget=GovTextArea(),
        description="For example, off sick until further notice, or has left the agency",
        validators=[
            DataRequired("Enter why the part is handed over"),
            Length(max=rules.MAX_REASON),
        ],
    )
    submit = SubmitField("Hand over", widget=GovSubmitInput())
