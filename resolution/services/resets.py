"""Forgotten-password links: e-mailed through the outbox, single use, short-lived, dead once
the password changes another way; using one ends the user's sessions and tokens as a reset does.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from ..account_models import PasswordReset
from ..models import User
from .accounts import hash_password, hash_token, replace_password, validate_password
from .core import Context, Message, unit_of_work
from .errors import NotFound
from .mailer import RESET_KIND

RESET_VALID = timedelta(hours=1)  # how long a forgotten-password link works
RESET_GAP = timedelta(minutes=5)  # at most one new link per account this often


def request_reset(
    session: Session,
    ctx: Context,
    email: str,
    valid: timedelta = RESET_VALID,
    *,
    allowed: Callable[[User], bool] = lambda user: True,
) -> bool:
    """Send an active user a single-use link to choose a new password; say whether one went.

    Nothing tells the asker whether the account exists (the door says the same either
    way), and an account gets at most one new link per RESET_GAP, however often asked.
    """
    address = email.strip().lower()
    # No history event, so no writers' lock (`late`): anonymous requests queue nobody.
    with unit_of_work(session, ctx.now, late=True) as uow:
        user = uow.session.scalar(
            select(User).where(
                User.email == address, User.active, User.password_hash.is_not(None)
            )  # an account for API tokens only has no password to reset
        )
        if user is None or not allowed(user):  # e.g. an agency that signs in with its provider
            return False
        recent = uow.session.scalar(
            select(func.count())
            .select_from(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.created_at > ctx.now - RESET_GAP)
        )
        if recent:
            return False
        key = secrets.token_urlsafe(32)
        uow.session.add(
            PasswordReset(
                key_hash=hash_token(key),
                user_id=user.id,
                epoch=user.session_epoch,
                created_at=ctx.now,
                expires_at=ctx.now + valid,
            )
        )
        link = f"{ctx.base_url.rstrip('/')}/sign-in/reset?key={key}"
        minutes = int(valid.total_seconds() // 60)
        body = (
            f"Someone asked to reset the password of the account {user.email}.\n\n"
            f"To choose a new password, open this link within {minutes} minutes:\n{link}\n\n"
            "The link works once. If you did not ask, ignore this e-mail: your password "
            "has not changed.\n"
        )
        uow.queue([Message(user.email, "Reset your password", body, RESET_KIND, None)])
    return True


def reset_link_user(session: Session, ctx: Context, key: str) -> User | None:
    """Return the user a reset link is for while it can still be used, else None."""
    found = (
        session.execute(
            select(PasswordReset, User)
            .join(User, User.id == PasswordReset.user_id)
            .where(PasswordReset.key_hash == hash_token(key), PasswordReset.live_clause(ctx.now))
        )
        .tuples()
        .first()
    )
    if found is None:
        return None
    link, user = found
    return user if user.active and link.epoch == user.session_epoch else None


def reset_with_link(session: Session, ctx: Context, key: str, password: str) -> User:
    """Set a new password through a reset link, which is used up; sessions and tokens end."""
    user = reset_link_user(session, ctx, key)
    if user is None:
        raise NotFound("this link has expired or has been used")
    validate_password(password, user.email)
    stored = hash_password(password)
    epoch = user.session_epoch
    with unit_of_work(session, ctx.now) as uow:
        used = uow.session.execute(
            update(PasswordReset)
            .where(PasswordReset.key_hash == hash_token(key), PasswordReset.live_clause(ctx.now))
            .values(used_at=ctx.now)
        )
        assert isinstance(used, CursorResult)  # as an UPDATE's is (typed as a Result)
        found = uow.session.get(User, user.id)
        if not used.rowcount or found is None or found.session_epoch != epoch:
            raise NotFound("this link has expired or has been used")  # used by a second tab
        replace_password(uow, ctx, found, stored, "password_reset", found.email)
    return found
