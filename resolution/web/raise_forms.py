"""The questions of raising a disagreement, one form per page."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)

# WTForms 3.3 has SelectChoice (tuples are deprecated); types-WTForms still describes 3.2.
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..domain import rules
from ..services.accounts import EMAIL_RE
from .forms import (
    DATE_FORMAT,
    CheckboxesInput,
    DateInput,
    Form,
    RadioInput,
    choices,
)


class RiskForm(Form):
    risk = RadioField(
        "Is a child at immediate risk of significant harm?",
        choices=choices([("yes", "Yes"), ("no", "No")]),
        widget=RadioInput(),
        validators=[DataRequired("Select yes if a child is at immediate risk of significant harm")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ReferralForm(Form):
    referred_to = StringField(
        "Who did you refer to?",
        widget=GovTextInput(),
        description="For example, the children's social work front door or the Emergency Duty Team",
        validators=[DataRequired("Enter who you referred to"), Length(max=rules.MAX_REFERRED_TO)],
    )
    referral_date = DateField(
        "When did you make the referral?",
        widget=DateInput(),
        format=DATE_FORMAT,
        description="For example, 27 3 2026",
        validators=[DataRequired("Enter the date of the referral as day, month and year")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class AgenciesForm(Form):
    agencies = SelectMultipleField(
        "Which agencies do you disagree with?",
        widget=CheckboxesInput(),
        description="Select all that apply",
        validators=[DataRequired("Select at least one other agency")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class PeopleForm(Form):
    """One person picked by name at a time; the page's buttons say add, remove or continue."""

    person = SelectField(
        "Who at these agencies do you disagree with? (optional)",
        widget=GovSelect(),
        description="Start typing a name, then add the person. Add as many as you need.",
        validators=[Optional()],
    )

    def validate_people(self, field: TextAreaField) -> None:
        """Refuse what is not an e-mail address (the service then asks who they are)."""
        for email in self.emails():
            if not EMAIL_RE.match(email):
                raise ValidationError(
                    "Enter each email address in the correct format, like name@agency.org: "
                    f"'{email}' is not one"
                )


class AboutForm(Form):
    workflow = RadioField(
        "Which process does this follow?",
        widget=RadioInput(),
        validators=[DataRequired("Select a process")],
    )
    child_ref = StringField(
        "Case reference",
        widget=GovTextInput(),
        description=(
            "The reference your agencies already use, such as the case-management number. "
            "Never the child's name."
        ),
        validators=[DataRequired("Enter the case reference")],
    )
    child_initials = StringField(
        "Child's initials (optional)",
        widget=GovTextInput(),
        validators=[Optional()],
    )
    category = RadioField(
        "What is the disagreement about?",
        choices=choices(rules.CATEGORIES),
        widget=RadioInput(),
        validators=[DataRequired("Select what the disagreement is about")],
    )
    summary = TextAreaField(
        "Describe the disagreement",
        widget=GovCharacterCount(),
        description=(
            "What each agency thinks and what you have already tried. "
            "Do not include the child's name."
        ),
        validators=[
            DataRequired("Describe the disagreement"),
            Length(
                max=rules.MAX_SUMMARY,
                message=f"The description must be {rules.MAX_SUMMARY:,} characters or fewer",
            ),
        ],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())

    def validate_child_ref(self, field: StringField) -> None:
        """The domain's rule for a case reference, said where it is typed."""
        if field.data and not rules.CHILD_REF_RE.match(field.data.strip()):
            raise ValidationError(
                "Enter the case reference your agency uses, like CS-402117: not a name"
            )

    def validate_child_initials(self, field: StringField) -> None:
        if field.data and not rules.INITIALS_RE.match(field.data.strip().upper()):
            raise ValidationError("Enter the child's initials only: 1 to 4 letters, like JS")
