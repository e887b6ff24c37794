"""The tables behind signing in: sessions kept on the server, raise drafts, reset links.

The browser's cookie holds only a random session key (its SHA-256 is stored here), so
signing out ends the session for every copy of the cookie and no case text rides in it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import JSON, ColumnElement, ForeignKey, Integer, String, and_
from sqlalchemy.orm import Mapped, mapped_column

from .columns import Model, UTCDateTime


class SignInSession(Model):
    """One signed-in browser: live while neither idle nor old, at the user's current epoch."""

    __tablename__ = "sign_in_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    def ended_by(self, now: datetime, idle: timedelta, absolute: timedelta) -> str | None:
        """Say why the session has ended at `now` ("idle" or "absolute"), or None if live."""
        if now - self.created_at >= absolute:
            return "absolute"
        if now - self.seen_at >= idle:
            return "idle"
        return None

    @classmethod
    def live_clause(
        cls, now: datetime, idle: timedelta, absolute: timedelta
    ) -> ColumnElement[bool]:
        """The same rule as a condition on the table: neither idle nor too old."""
        return and_(cls.created_at > now - absolute, cls.seen_at > now - idle)


class Draft(Model):
    """A disagreement being raised: its author's answers so far, kept until raised,
    discarded or too old."""

    __tablename__ = "raise_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    answers: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    @classmethod
    def owned(cls, draft_id: int, author_id: int) -> ColumnElement[bool]:
        """The one draft of that number, if it is that author's: nobody reaches another's."""
        return and_(cls.id == draft_id, cls.author_id == author_id)

    @classmethod
    def live_clause(cls, now: datetime, kept: timedelta) -> ColumnElement[bool]:
        """A draft is kept while it has been changed within `kept`."""
        return cls.updated_at > now - kept


class PasswordReset(Model):
    """A forgotten-password link: single use, short-lived, dead once the password changes."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def live_at(self, now: datetime) -> bool:
        """Say whether the link can still be used at `now`."""
        return self.used_at is None and self.expires_at > now

    @classmethod
    def live_clause(cls, now: datetime) -> ColumnElement[bool]:
        """The same, as a condition on the table."""
        return and_(cls.used_at.is_(None), cls.expires_at > now)
