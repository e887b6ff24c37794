"""The everyday steps of /api/v1 (contract v1's additions): an agreed action done or
withdrawn, a proposed timescale declined, a proposed closing confirmed or declined."""

from __future__ import annotations

from flask import Response

from ..extensions import db
from ..services import action_items, closing, timescales
from . import requests as rq
from . import schemas as s
from .spec import operation
from .views import bp, case_answer, record_answer

WHO_ENDS = (
    "The action's author, a party of the author's agency, or whoever acts at the current level."
)


@bp.post("/records/<int:record_id>/done")
@operation(
    "Mark an agreed action as done",
    s.RecordOut,
    body=s.DoneIn,
    body_required=False,
    errors=(403, 409),
    tags=["records"],
    description=f"{WHO_ENDS} A done action is never flagged overdue again.",
)
def action_done(record_id: int) -> Response:
    """Mark an agreed action as done, with an optional note."""
    data = rq.body(s.DoneIn, optional=True)
    record = action_items.mark_done(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(record_id, "record"),
        note=data.get("note"),
    )
    return record_answer(record.case_id, record.id, 200)


@bp.post("/records/<int:record_id>/withdraw")
@operation(
    "Withdraw an agreed action",
    s.RecordOut,
    body=s.ReasonIn,
    errors=(403, 409),
    tags=["records"],
    description=f"{WHO_ENDS} A withdrawn action is no longer flagged.",
)
def action_withdraw(record_id: int) -> Response:
    """Withdraw an agreed action, saying why."""
    data = rq.body(s.ReasonIn)
    record = action_items.withdraw_action(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(record_id, "record"),
        reason=data["reason"],
    )
    return record_answer(record.case_id, record.id, 200)


@bp.post("/cases/<int:case_id>/timescale/decline")
@operation(
    "Decline the proposed timescale",
    s.CaseOut,
    body=s.ReasonIn,
    errors=(403, 409),
    etag=True,
    if_match="optional",
    tags=["timescales"],
    description="A party from another agency than the proposer's. The proposer is told.",
)
def decline_timescale(case_id: int) -> Response:
    """Decline the proposed timescale with a reason."""
    data = rq.body(s.ReasonIn)
    version = rq.if_match(required=False)
    timescales.decline_timescale(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(case_id, "case"),
        reason=data["reason"],
        expected_version=version,
    )
    return case_answer(case_id)


@bp.post("/cases/<int:case_id>/closing/confirm")
@operation(
    "Confirm the closing proposed",
    s.CaseOut,
    body=s.EmptyIn,
    body_required=False,
    errors=(403, 409),
    etag=True,
    if_match="required",
    tags=["actions"],
    description="A party from another agency involved than the proposer's. No body, or `{}`. "
    "The case closes with the outcome proposed.",
)
def confirm_closing(case_id: int) -> Response:
    """Confirm the closing another agency proposed: the case closes."""
    rq.body(s.EmptyIn, optional=True)
    version = rq.if_match(required=True)
    closing.confirm_closing(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(case_id, "case"),
        expected_version=version,
    )
    return case_answer(case_id)


@bp.post("/cases/<int:case_id>/closing/decline")
@operation(
    "Decline the closing proposed",
    s.CaseOut,
    body=s.ReasonIn,
    errors=(403, 409),
    etag=True,
    if_match="required",
    tags=["actions"],
    description="As confirming. The case stays open at its level, its clock running; "
    "the proposer is told.",
)
def decline_closing(case_id: int) -> Response:
    """Decline the closing another agency proposed, with a reason."""
    data = rq.body(s.ReasonIn)
    version = rq.if_match(required=True)
    closing.decline_closing(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(case_id, "case"),
        reason=data["reason"],
        expected_version=version,
    )
    return case_answer(case_id)
