"""Tables for signing in with an agency's own account (OpenID Connect)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .columns import Model, UTCDateTime
from .models import User


class IdentityBinding(Model):
    """One provider's subject (`sub`) bound to one of our users at their first sign-in there.

    Afterwards that subject signs in as that user only, whatever e-mail it later reports.
    """

    __tablename__ = "identity_binding"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_identity_binding_provider_subject"),
        # A user has at most one identity at each provider.
        UniqueConstraint("provider", "user_id", name="uq_identity_binding_provider_user_id"),
    )
