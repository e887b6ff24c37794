"""The administrators' forms: agencies, users, passwords and roles."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovPasswordInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)

# WTForms 3.3 has SelectChoice (tuples are deprecated); types-WTForms still describes 3.2.
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..services.accounts import AGENCY_CODE_RE, EMAIL_RE, validate_password
from ..services.errors import Invalid
from .forms import (
    Form,
    choices,
)


class AgencyForm(Form):
    code = StringField(
        "Agency code",
        widget=GovTextInput(),
        description="2 to 20 capital letters, for example POLICE",
        validators=[DataRequired("Enter the agency code")],
    )
    name = StringField(
        "Agency name", widget=GovTextInput(), validators=[DataRequired("Enter the agency name")]
    )
    contact_email = StringField(
        "Contact email address (optional)",
        widget=GovTextInput(),
        description=(
            "A team mailbox told of the agency's cases when nobody there is named and it has "
            "no designated lead"
        ),
        validators=[Optional(), Length(max=254)],
    )
    submit = SubmitField("Add agency", widget=GovSubmitInput())

    def validate_code(self, field: StringField) -> None:
        """The service's rule for a code, said with the other fields' problems."""
        if field.data and not AGENCY_CODE_RE.match(field.data.strip().upper()):
            raise ValidationError(
                "Enter a code of 2 to 20 capital letters, digits, - or _, "
                "starting with a letter, like POLICE"
            )


ROLE_CHOICES = [
    ("practitioner", "Practitioner"),
    ("manager", "Manager"),
    ("lead", "Designated lead or senior manager"),
    ("partnership", "Partnership business unit"),
    ("auditor", "Auditor or scrutineer"),
    ("admin", "Administrator"),
]


class UserForm(Form):
    email = StringField(
        "Email address", widget=GovTextInput(), validators=[DataRequired("Enter the email address")]
    )
    name = StringField(
        "Full name", widget=GovTextInput(), validators=[DataRequired("Enter the full name")]
    )
    agency = SelectField(
        "Agency", widget=GovSelect(), validators=[DataRequired("Select the agency")]
    )
    role = SelectField(
        "Role",
        choices=choices(ROLE_CHOICES),
        widget=GovSelect(),
        validators=[DataRequired("Select the role")],
    )
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        description="At least 12 characters",
        validators=[DataRequired("Enter a password")],
    )
    submit = SubmitField("Add user", widget=GovSubmitInput())

    def validate_email(self, field: StringField) -> None:
        if field.data and not EMAIL_RE.match(field.data.strip().lower()):
            raise ValidationError(
                "Enter an email address in the correct format, like name@agency.org"
            )

    def validate_password(self, field: PasswordField) -> None:
        """The service's password rule, said with the other fields' problems."""
        if field.data:
            try:
                validate_password(field.data, (self.email.data or "").strip().lower() or None)
            except Invalid as exc:
                message = exc.fields["password"][0]
                raise ValidationError(message[:1].upper() + message[1:]) from None


class PasswordForm(Form):
    password = PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description="At least 12 characters",
        validators=[DataRequired("Enter a new password")],
    )
    submit = SubmitField("Reset password", widget=GovSubmitInput())


class RoleForm(Form):
    role = SelectField(
        "Role",
        choices=choices(ROLE_CHOICES),
        widget=GovSelect(),
        validators=[DataRequired("Select the role")],
    )
    submit = SubmitField("Change role", widget=GovSubmitInput())
