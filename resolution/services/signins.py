"""Sessions kept on the server: begun at sign-in, checked on each request, ended at sign-out.

The browser holds a random key; only its SHA-256 is stored. A session ends when its
user signs out (the row goes, so a copied cookie stops working too), after a spell
of inactivity, at an absolute age, or when the user's epoch moves on (a password
reset or change, deactivation, a new role).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, not_, select, update
from sqlalchemy.orm import Session

from ..account_models import Draft, PasswordReset, SignInSession
from ..models import User
from .accounts import hash_token as digest
from .core import Context, engine_of

# How stale `seen_at` may get before a request writes it again: the idle limit is kept
# to within this, and a busy user costs one write a minute, not one per request.
TOUCH = timedelta(minutes=1)


@dataclass(frozen=True)
class Limits:
    """How long sessions and drafts last (the deployment's settings)."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    drafts: timedelta = timedelta(days=7)

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        return cls(
            idle=timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
            absolute=timedelta(hours=int(config["SESSION_HOURS"])),
            drafts=timedelta(days=int(config["DRAFT_DAYS"])),
        )


def begin(session: Session, ctx: Context, user: User) -> str:
    """Start a session for a checked user at their current epoch; return the browser's key."""
    key = secrets.token_urlsafe(32)
    row = {
        "key_hash": digest(key),
        "user_id": user.id,
        "epoch": user.session_epoch,
        "created_at": ctx.now,
        "seen_at": ctx.now,
    }
    with engine_of(session).begin() as connection:
        connection.execute(insert(SignInSession), row)
    return key


def check(
    session: Session, ctx: Context, key: str | None, user_id: int, limits: Limits
) -> tuple[User | None, str | None]:
    """Return the session's user while it is live, else (None, why it ended).

    Why is "idle", "absolute" or "ended" (signed out elsewhere, a new epoch, no such
    session). A live session's `seen_at` moves on, at most once per TOUCH.
    """
    if not key:
        return None, "ended"
    found = session.execute(
        select(SignInSession, User)
        .join(User, User.id == SignInSession.user_id)
        .where(SignInSession.key_hash == digest(key), SignInSession.user_id == user_id)
    ).first()
    if found is None:
        return None, "ended"
    row, user = found
    if not user.active or row.epoch != user.session_epoch:
        end(session, ctx, key)
        return None, "ended"
    why = row.ended_by(ctx.now, limits.idle, limits.absolute)
    if why is not None:
        end(session, ctx, key)
        return None, why
    if ctx.now - row.seen_at >= TOUCH:
        with engine_of(session).begin() as connection:
            connection.execute(
                update(SignInSession).where(SignInSession.id == row.id).values(seen_at=ctx.now)
            )
    return user, None


def end(session: Session, ctx: Context, key: str | None) -> None:
    """End one session wherever its cookie has been copied."""
    if key:
        with engine_of(session).begin() as connection:
            connection.execute(delete(SignInSession).where(SignInSession.key_hash == digest(key)))


def purge(session: Session, ctx: Context, limits: Limits) -> int:
    """Delete ended sessions, drafts past their time and dead reset links; return how many."""
    now = ctx.now
    with engine_of(session).begin() as connection:
        counts = [
            connection.execute(
                delete(SignInSession).where(
                    not_(SignInSession.live_clause(now, limits.idle, limits.absolute))
                )
            ).rowcount,
            connection.execute(
                delete(Draft).where(not_(Draft.live_clause(now, limits.drafts)))
            ).rowcount,
            connection.execute(
                delete(PasswordReset).where(not_(PasswordReset.live_clause(now)))
            ).rowcount,
        ]
    return sum(counts)
