"""Marshmallow schemas of every request and response of the JSON API (contract v1).

Request schemas refuse unknown fields; response schemas say which fields may be
null, so the generated OpenAPI description is what the API really sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..domain import rules

MAX_INT = rules.MAX_PAGE
YEARS = f"in the years {rules.FIRST_YEAR} to {rules.LAST_YEAR}"


def _printable(value: str) -> None:
    """Refuse control characters (the domain's rule) and lone surrogates (no database stores them)."""
    if not rules.printable(value):
        raise ValidationError(rules.NOT_PRINTABLE)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("must be valid Unicode text") from None


def words(max_length: int, *, min_length: int = 0, **kwargs: Any) -> fields.String:
    """Return a string field limited in length and to storable characters."""
    checks: list[Callable[[Any], Any]] = [
        validate.Length(min=min_length, max=max_length),
        _printable,
    ]
    metadata = {"pattern": rules.PRINTABLE_PATTERN, **kwargs.pop("metadata", {})}
    return fields.String(validate=checks, metadata=metadata, **kwargs)


def _in_range(value: Any) -> None:
    if not rules.in_range(value):
        raise ValidationError(rules.OUT_OF_RANGE)


def _described(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Say the years taken in the field's description (a string's schema has no minimum)."""
    metadata = dict(kwargs.pop("metadata", {}))
    said = metadata.get("description")
    metadata["description"] = f"{said}; {YEARS}" if said else YEARS
    return metadata


def instant(**kwargs: Any) -> fields.AwareDateTime:
    """Return a field for an instant with its offset, in the years the service takes."""
    return fields.AwareDateTime(validate=_in_range, metadata=_described(kwargs), **kwargs)


def day(**kwargs: Any) -> fields.Date:
    """Return a field for a day, in the years the service takes."""
    return fields.Date(validate=_in_range, metadata=_described(kwargs), **kwargs)


class In(Schema):
    """A request: unknown fields are refused."""

    class Meta:
        unknown = RAISE


# --- requests -----------------------------------------------------------------------------------


class ImmediateRiskIn(In):
    referral_made = fields.Boolean(required=True)
    referred_to = words(rules.MAX_REFERRED_TO, allow_none=True)
    at = instant(allow_none=True)


class RaiseCaseIn(In):
    workflow = words(
        40, allow_none=True, metadata={"description": "definition key; the default if absent"}
    )
    child_ref = fields.String(
        required=True,
        validate=validate.Regexp(
            rules.CHILD_REF_RE, error="letters, digits, '/', '-' or '.' (2 to 40): never a name"
        ),
        metadata={"description": "the reference the agencies already use, never a name"},
    )
    child_initials = words(4, allow_none=True)
    category = fields.String(required=True, validate=validate.OneOf(list(rules.CATEGORIES)))
    summary = words(rules.MAX_SUMMARY, min_length=1, required=True)
    with_agencies = fields.List(words(20), required=True, validate=validate.Length(min=1, max=20))
    with_people = fields.List(words(254), validate=validate.Length(max=50))
    immediate_risk = fields.Nested(ImmediateRiskIn, allow_none=True)


class RecordIn(In):
    kind = fields.String(required=True, validate=validate.OneOf(list(rules.RECORD_KINDS)))
    text = words(rules.MAX_RECORD, min_length=1, required=True)
    action_due = instant(
        allow_none=True,
        metadata={"description": "required for an action (kind `action`), refused for the others"},
    )


class TimescaleIn(In):
    due_at = instant(required=True)
    reason = words(rules.MAX_REASON, min_length=1, required=True)


class PartiesIn(In):
    with_agencies = fields.List(words(20), validate=validate.Length(max=20))
    with_people = fields.List(words(254), validate=validate.Length(max=50))


class HandoverIn(In):
    from_ = words(
        254,
        min_length=1,
        required=True,
        data_key="from",
        metadata={"description": "the e-mail of the party handing over"},
    )
    to = words(
        254,
        min_length=1,
        required=True,
        metadata={"description": "the e-mail of a colleague of the same agency"},
    )
    reason = words(rules.MAX_REASON, min_length=1, required=True)


class DoneIn(In):
    note = words(rules.MAX_REASON, allow_none=True, metadata={"description": "optional"})


class ReasonIn(In):
    reason = words(rules.MAX_REASON, min_length=1, required=True)


class EmptyIn(In):
    """No fields: the body may be absent or `{}`."""


class OutcomeIn(In):
    text = words(rules.MAX_OUTCOME, allow_none=True)
    referred_to = words(rules.MAX_REFERRED_TO, allow_none=True)


class LearningIn(In):
    text = words(rules.MAX_LEARNING, allow_none=True)
    themes = fields.List(
        fields.String(validate=validate.OneOf(list(rules.THEMES))), validate=validate.Length(max=20)
    )


class ActionIn(In):
    record = words(
        rules.MAX_RECORD,
        allow_none=True,
        metadata={"description": "the decision, written to the record"},
    )
    outcome = fields.Nested(OutcomeIn, allow_none=True)
    learning = fields.Nested(LearningIn, allow_none=True)


class CaseQuery(In):
    q = words(
        40,
        metadata={
            "description": "the service's reference (RC-000123) or the agencies' child "
            "reference, whole or its beginning, in any letter case"
        },
    )
    state = fields.String(validate=validate.OneOf(["open", "closed"]))
    overdue = fields.Boolean()
    agency = words(20)
    stage = words(40)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_INT))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class OutcomeQuery(In):
    date_from = day(data_key="from", metadata={"description": "closed on or after (London day)"})
    date_to = day(data_key="to", metadata={"description": "closed on or before (London day)"})
    agency = words(20)
    category = fields.String(validate=validate.OneOf(list(rules.CATEGORIES)))
    level = words(40)
    outcome = fields.String(validate=validate.OneOf(list(rules.OUTCOME_KINDS)))
    theme = fields.String(validate=validate.OneOf(list(rules.THEMES)))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class AuditQuery(In):
    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_INT))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


# --- responses ----------------------------------------------------------------------------------


class Out(Schema):
    """A response: only the declared fields are sent."""


class ErrorBody(Out):
    code = fields.String(
        required=True,
        metadata={
            "enum": [
                "unauthorized",
                "forbidden",
                "not_found",
                "method_not_allowed",
                "conflict",
                "validation_error",
                "too_large",
                "internal_error",
            ]
        },
    )
    message = fields.String(required=True)
    fields_ = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        data_key="fields",
        attribute="fields",
    )


class ErrorOut(Out):
    error = fields.Nested(ErrorBody, required=True)


class PersonOut(Out):
    name = fields.String(required=True)
    email = fields.String(required=True)
    agency = fields.String(required=True)
    role = fields.String(required=True)


class AcknowledgementOut(PersonOut):
    at = fields.AwareDateTime(required=True)


class TimescaleOut(Out):
    status = fields.String(
        required=True, validate=validate.OneOf(["default", "proposed", "agreed", "declined"])
    )
    default = fields.String(required=True)
    agreed_by = fields.List(fields.Nested(PersonOut), required=True)
    reason = fields.String(allow_none=True, required=True)
    proposed_due_at = fields.AwareDateTime(allow_none=True, required=True)
    proposed_by = fields.Nested(PersonOut, allow_none=True, required=True)
    declined_by = fields.Nested(
        PersonOut, allow_none=True, required=True, metadata={"description": "when `declined`"}
    )
    declined_at = fields.AwareDateTime(allow_none=True, required=True)


class StepOut(Out):
    number = fields.Integer(required=True)
    stage = fields.String(required=True)
    title = fields.String(required=True)
    started_at = fields.AwareDateTime(required=True)
    due_at = fields.AwareDateTime(required=True)
    warn_at = fields.AwareDateTime(required=True)
    ended_at = fields.AwareDateTime(allow_none=True, required=True)
    timescale = fields.Nested(TimescaleOut, required=True)
    overdue = fields.Boolean(required=True)
    due_soon = fields.Boolean(required=True)
    went_overdue = fields.Boolean(required=True)
    urgent = fields.Boolean(
        required=True, metadata={"description": "on the urgent route's shorter clock"}
    )


class RecordOut(Out):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    text = fields.String(allow_none=True, required=True)
    author = fields.Nested(PersonOut, required=True)
    at = fields.AwareDateTime(required=True)
    step = fields.Integer(required=True)
    action_due = fields.AwareDateTime(allow_none=True, required=True)
    corrects = fields.Integer(allow_none=True, required=True)
    acknowledged_by = fields.List(fields.Nested(AcknowledgementOut), required=True)
    done_at = fields.AwareDateTime(
        allow_none=True, required=True, metadata={"description": "an action marked done"}
    )
    done_by = fields.Nested(PersonOut, allow_none=True, required=True)
    done_note = fields.String(allow_none=True, required=True)
    withdrawn_at = fields.AwareDateTime(
        allow_none=True, required=True, metadata={"description": "an action withdrawn"}
    )
    withdrawn_by = fields.Nested(PersonOut, allow_none=True, required=True)
    withdrawn_reason = fields.String(allow_none=True, required=True)
    overdue = fields.Boolean(
        required=True, metadata={"description": "an open action past its deadline"}
    )


class WorkflowRefOut(Out):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)


class CaseAgencyOut(Out):
    code = fields.String(required=True)
    name = fields.String(required=True)
    raising = fields.Boolean(required=True)


class ImmediateRiskOut(Out):
    referral_made = fields.Boolean(required=True)
    referred_to = fields.String(allow_none=True, required=True)
    at = fields.AwareDateTime(allow_none=True, required=True)


class OutcomeOut(Out):
    kind = fields.String(
        allow_none=True, required=True, validate=validate.OneOf(list(rules.OUTCOME_KINDS))
    )
    level = fields.String(allow_none=True, required=True)
    text = fields.String(allow_none=True, required=True)
    at = fields.AwareDateTime(allow_none=True, required=True)


class LearningOut(Out):
    text = fields.String(allow_none=True, required=True)
    themes = fields.List(fields.String(validate=validate.OneOf(list(rules.THEMES))), required=True)


class AvailableActionOut(Out):
    key = fields.String(required=True)
    title = fields.String(required=True)
    closes = fields.String(allow_none=True, required=True)
    requires_record = fields.Boolean(required=True)
    requires_outcome = fields.Boolean(required=True)


class ClosingOut(Out):
    action = fields.String(required=True)
    outcome_kind = fields.String(required=True, validate=validate.OneOf(list(rules.OUTCOME_KINDS)))
    outcome_text = fields.String(
        allow_none=True, required=True, metadata={"description": "the outcome it would record"}
    )
    proposed_by = fields.Nested(PersonOut, required=True)
    proposed_at = fields.AwareDateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["proposed", "declined"]))
    declined_by = fields.Nested(PersonOut, allow_none=True, required=True)
    reason = fields.String(
        allow_none=True, required=True, metadata={"description": "why it was declined"}
    )


class CaseSummaryOut(Out):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    workflow = fields.Nested(WorkflowRefOut, required=True)
    state = fields.String(required=True)
    closed = fields.Boolean(required=True)
    child_ref = fields.String(required=True)
    child_initials = fields.String(allow_none=True, required=True)
    category = fields.String(required=True)
    summary = fields.String(allow_none=True, required=True)
    raised_by = fields.Nested(PersonOut, required=True)
    raised_at = fields.AwareDateTime(required=True)
    agencies = fields.List(fields.Nested(CaseAgencyOut), required=True)
    urgent = fields.Boolean(required=True)
    immediate_risk = fields.Nested(ImmediateRiskOut, required=True)
    parties = fields.List(fields.Nested(PersonOut), required=True)
    step = fields.Nested(StepOut, allow_none=True, required=True)
    outcome = fields.Nested(OutcomeOut, allow_none=True, required=True)
    learning = fields.Nested(LearningOut, allow_none=True, required=True)
    closing = fields.Nested(
        ClosingOut,
        allow_none=True,
        required=True,
        metadata={"description": "a closing proposed (or declined) at the current level"},
    )
    version = fields.Integer(required=True)


class CaseOut(CaseSummaryOut):
    steps = fields.List(fields.Nested(StepOut), required=True)
    records = fields.List(fields.Nested(RecordOut), required=True)
    actions = fields.List(
        fields.Nested(AvailableActionOut),
        required=True,
        metadata={"description": "the actions the caller may take now"},
    )


class CasePageOut(Out):
    items = fields.List(fields.Nested(CaseSummaryOut), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class StageOut(Out):
    key = fields.String(required=True)
    title = fields.String(required=True)
    timescale = fields.String(required=True)
    acts = fields.List(fields.String(), required=True)


class WorkflowActionOut(Out):
    key = fields.String(required=True)
    title = fields.String(required=True)
    from_ = fields.List(fields.String(), required=True, data_key="from", attribute="from")
    to = fields.String(allow_none=True, required=True)
    closes = fields.String(allow_none=True, required=True)
    roles = fields.List(fields.String(), required=True)
    requires_record = fields.Boolean(required=True)
    requires_outcome = fields.Boolean(required=True)
    requires_agreement = fields.Boolean(
        required=True,
        metadata={
            "description": "below a final level it is proposed until another agency confirms it"
        },
    )
    agency = fields.String(
        required=True,
        validate=validate.OneOf(["any", "raising", "challenged"]),
        metadata={"description": "which side of the case may take it"},
    )


class WorkflowOut(Out):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    stages = fields.List(fields.Nested(StageOut), required=True)
    actions = fields.List(fields.Nested(WorkflowActionOut), required=True)


class EventOut(Out):
    seq = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True)
    actor = fields.String(allow_none=True, required=True)
    case = fields.String(allow_none=True, required=True, attribute="case_ref")
    action = fields.String(required=True)
    from_state = fields.String(allow_none=True, required=True)
    to_state = fields.String(allow_none=True, required=True)
    payload = fields.Dict(
        allow_none=True, required=True, metadata={"description": "null once redacted"}
    )
    payload_digest = fields.String(required=True)
    redacted = fields.Boolean(required=True)
    prev_digest = fields.String(required=True)
    digest = fields.String(required=True)


class VerifyOut(Out):
    ok = fields.Boolean(required=True)
    events = fields.Integer(required=True, metadata={"description": "events checked"})
    broken_at = fields.Integer(
        allow_none=True, required=True, metadata={"description": "the first bad event"}
    )
    reason = fields.String(required=True)


class OutcomeRowOut(Out):
    reference = fields.String(required=True)
    workflow = fields.String(required=True)
    agencies = fields.List(fields.String(), required=True)
    raising_agency = fields.String(required=True)
    category = fields.String(required=True)
    level = fields.String(required=True, metadata={"description": "the level reached"})
    level_number = fields.Integer(allow_none=True, required=True)
    outcome = fields.String(required=True)
    opened = fields.AwareDateTime(required=True)
    closed = fields.AwareDateTime(required=True)
    days_open = fields.Integer(required=True)
    working_days_open = fields.Integer(required=True)
    steps_overdue = fields.Integer(required=True)
    urgent = fields.Boolean(required=True)
    themes = fields.List(fields.String(), required=True)


class ChainHeadOut(Out):
    seq = fields.Integer(required=True)
    digest = fields.String(required=True)


class OutcomeLogOut(Out):
    items = fields.List(fields.Nested(OutcomeRowOut), required=True)
    total = fields.Integer(required=True)
    audit_head = fields.Nested(
        ChainHeadOut, required=True, metadata={"description": "the chain's head when read"}
    )
