"""The end of an agreed action: marked done (with an optional note) or withdrawn (with a reason).

Who may end one is `rules.may_end_action`; once ended it is never flagged overdue again
(`status.action_open`, and its SQL form in the sweep).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import rules
from ..models import Record
from .changes import Change, change_case, checked_text
from .core import Context
from .errors import Conflict, Forbidden, NotFound

DONE, WITHDRAWN = "done", "withdrawn"


def mark_done(
    session: Session, ctx: Context, actor_id: int, record_id: int, *, note: str | None = None
) -> Record:
    """Mark an agreed action as done, with an optional note."""
    text = checked_text(note, "note", rules.MAX_REASON, required=False)
    return _end(session, ctx, actor_id, record_id, DONE, text)


def withdraw_action(
    session: Session, ctx: Context, actor_id: int, record_id: int, *, reason: str
) -> Record:
    """Withdraw an agreed action that is no longer needed, saying why."""
    text = checked_text(reason, "reason", rules.MAX_REASON)
    return _end(session, ctx, actor_id, record_id, WITHDRAWN, text)


def owner_of(record: Record) -> rules.Owner:
    """Return who owns an agreed action: its record's author."""
    return rules.Owner(record.author_id, record.author.agency.code)


def _end(
    session: Session, ctx: Context, actor_id: int, record_id: int, how: str, text: str | None
) -> Record:
    # A record never moves: its case is known before the change, which locks that case.
    case_id = session.scalar(select(Record.case_id).where(Record.id == record_id))
    if case_id is None:
        raise NotFound(f"no record {record_id}")
    try:
        with change_case(session, ctx, actor_id, case_id) as change:
            record = session.get(Record, record_id, populate_existing=True)
            assert record is not None  # records are never deleted
            if record.kind != "action":
                raise Conflict(f"record {record_id} is a {record.kind}, not an agreed action")
            if record.action_done_at is not None or record.action_withdrawn_at is not None:
                ended = "done" if record.action_done_at is not None else "withdrawn"
                raise Conflict(f"the action is already {ended}")
            if not rules.may_end_action(
                change.who, change.access, change.definition, owner_of(record)
            ):
                raise Forbidden(
                    "the action's owner, a party of their agency, or those acting at this "
                    "level mark it done or withdraw it"
                )
            if how == DONE:
                record.action_done_at, record.action_done_by = ctx.now, change.actor
                record.action_done_note = text
            else:
                record.action_withdrawn_at, record.action_withdrawn_by = ctx.now, change.actor
                record.action_withdrawn_reason = text
            change.done(
                f"action_{how}", {"record": record.id, "note" if how == DONE else "reason": text}
            )
            _tell(change, how)
    except NotFound:
        raise NotFound(f"no record {record_id}") from None
    return record


def _tell(change: Change, how: str) -> None:
    actor, case = change.actor, change.case
    change.tell(
        "record_added",
        kind=f"action_{how}",
        subject=f"an agreed action is {how}",
        happened=(
            f"{actor.name} ({actor.agency.name}) "
            + ("marked as done" if how == DONE else "withdrew")
            + f" an action agreed on case {case.reference}."
        ),
        expected="nothing more for this action; read the record on the case.",
    )
