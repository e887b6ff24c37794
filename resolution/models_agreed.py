"""The columns of what the parties agree on, kept beside `models` (which would pass its size):
how an agreed action ended, a declined timescale, and a closing proposed to the other side.

Each is a mixin of one table of `models` (Record, Step, Case); its people are users, loaded when first asked for
(they are parties, held by the session already).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from .columns import UTCDateTime

if TYPE_CHECKING:
    from .models import User


class ActionEnd:
    """An agreed action (a record of kind `action`) marked done, or withdrawn with a reason."""

    action_done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action_done_note: Mapped[str | None] = mapped_column(Text)
    action_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action_withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action_withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def action_done_by(cls) -> Mapped[User | None]:
        return relationship("User", foreign_keys="Record.action_done_by_id")

    @declared_attr
    def action_withdrawn_by(cls) -> Mapped[User | None]:
        return relationship("User", foreign_keys="Record.action_withdrawn_by_id")


class TimescaleDecline:
    """A proposed timescale declined by a party of another agency, with their reason."""

    declined_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def declined_by(cls) -> Mapped[User | None]:
        return relationship("User", foreign_keys="Step.declined_by_id")


class ClosingProposal:
    """A closing that needs the other side's agreement, proposed and not yet confirmed (or
    declined) at the case's current step; all NULL when none is open."""

    closing_action: Mapped[str | None] = mapped_column(String(40))
    closing_step: Mapped[int | None] = mapped_column()
    closing_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closing_status: Mapped[str | None] = mapped_column(String(10))  # proposed / declined
    closing_outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what closes it
    closing_answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closing_reason: Mapped[str | None] = mapped_column(Text)  # why it was declined

    @declared_attr
    def closing_by(cls) -> Mapped[User | None]:
        return relationship("User", foreign_keys="Case.closing_by_id")

    @declared_attr
    def closing_answered_by(cls) -> Mapped[User | None]:
        return relationship("User", foreign_keys="Case.closing_answered_by_id")
