"""Raise drafts: a practitioner's answers kept on the server between the raise pages.

A draft belongs to its author alone: every function takes the author and finds
nothing of anyone else's. It is deleted when raised (in the raise's own
transaction), when discarded, or once untouched for the deployment's set time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from ..account_models import Draft
from ..models import Agency
from .core import Context, unit_of_work


@dataclass(frozen=True)
class DraftView:
    """A draft as Your cases lists it."""

    id: int
    started_at: datetime
    updated_at: datetime
    deleted_after: datetime
    child_ref: str | None
    agencies: tuple[str, ...]


def _codes(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _find(
    session: Session, ctx: Context, author_id: int, draft_id: int, keep: timedelta
) -> Draft | None:
    return session.scalar(
        select(Draft).where(Draft.owned(draft_id, author_id), Draft.live_clause(ctx.now, keep))
    )


def answers_of(
    session: Session, ctx: Context, author_id: int, draft_id: int | None, keep: timedelta
) -> dict[str, Any]:
    """Return the answers of the author's live draft, or none when there is no such draft."""
    found = _find(session, ctx, author_id, draft_id, keep) if draft_id else None
    return dict(found.answers) if found else {}


def save(
    session: Session,
    ctx: Context,
    author_id: int,
    draft_id: int | None,
    answers: dict[str, Any],
    keep: timedelta,
) -> int:
    """Store the answers in the author's draft, starting one when needed; return its id."""
    with unit_of_work(session, ctx.now, late=True):  # no history event: no writers' lock
        found = _find(session, ctx, author_id, draft_id, keep) if draft_id else None
        if found is None:
            found = Draft(author_id=author_id, answers={}, created_at=ctx.now)
            session.add(found)
        found.answers = dict(answers)
        found.updated_at = ctx.now
    return found.id


def discard(session: Session, ctx: Context, author_id: int, draft_id: int) -> bool:
    """Delete one of the author's drafts; say whether there was one."""
    with unit_of_work(session, ctx.now, late=True):
        gone = session.execute(delete(Draft).where(Draft.owned(draft_id, author_id)))
    assert isinstance(gone, CursorResult)  # as a DELETE's is (typed as a Result)
    return bool(gone.rowcount)


def drafts_of(session: Session, ctx: Context, author_id: int, keep: timedelta) -> list[DraftView]:
    """Return the author's live drafts, the latest touched first."""
    rows = session.scalars(
        select(Draft)
        .where(Draft.author_id == author_id, Draft.live_clause(ctx.now, keep))
        .order_by(Draft.updated_at.desc(), Draft.id.desc())
    ).all()
    names = dict(session.execute(select(Agency.code, Agency.name)).tuples().all()) if rows else {}
    return [
        DraftView(
            id=d.id,
            started_at=d.created_at,
            updated_at=d.updated_at,
            deleted_after=d.updated_at + keep,
            child_ref=str(d.answers.get("child_ref") or "") or None,
            agencies=tuple(names.get(str(c), str(c)) for c in _codes(d.answers.get("agencies"))),
        )
        for d in rows
    ]
