"""The database tables, in typed SQLAlchemy 2 style; instants in UTC (`columns.UTCDateTime`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy import (
    text as sql,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .columns import Model, UTCDateTime
from .models_agreed import ActionEnd, ClosingProposal, TimescaleDecline


class Agency(Model):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    contact_email: Mapped[str | None] = mapped_column(String(254))  # told when nobody is named


class User(Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped when a password is reset or the user is deactivated: old sessions stop working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[bool] = mapped_column(Boolean, default=False)  # asked for at sign-in; inactive
    digest: Mapped[bool] = mapped_column(Boolean, default=False)  # one e-mail a day (rules)
    digest_sent_on: Mapped[date | None] = mapped_column(Date)  # the last digest's London day

    agency: Mapped[Agency] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "role in ('practitioner','manager','lead','partnership','auditor','admin')", name="role"
        ),
    )

    # Flask-Login's user protocol, kept here so the web door needs no wrapper.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class ApiToken(Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    # A token is live while it is neither revoked nor expired: said once for an object and
    # once, beside it, for a query.
    def live_at(self, now: datetime) -> bool:
        """Say whether the token can be used at `now`."""
        return self.revoked_at is None and self.expires_at > now

    @classmethod
    def live_clause(cls, now: datetime) -> ColumnElement[bool]:
        """The same, as a condition on the table."""
        return and_(cls.revoked_at.is_(None), cls.expires_at > now)


class AuditHead(Model):
    """One row: the newest event's number and digest. Writers lock it first."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))


class Case(ClosingProposal, Model):
    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    workflow_key: Mapped[str] = mapped_column(String(40))
    workflow_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(40))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    child_ref: Mapped[str] = mapped_column(String(40))
    child_initials: Mapped[str | None] = mapped_column(String(4))
    category: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    raised_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    referral_made: Mapped[bool | None] = mapped_column(Boolean)
    referred_to: Mapped[str | None] = mapped_column(String(200))
    referral_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    outcome_kind: Mapped[str | None] = mapped_column(String(20))
    outcome_level: Mapped[str | None] = mapped_column(String(40))
    outcome_text: Mapped[str | None] = mapped_column(Text)
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    learning_text: Mapped[str | None] = mapped_column(Text)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id], lazy="joined")
    agencies: Mapped[list[CaseAgency]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CaseAgency.id",
    )
    parties: Mapped[list[CaseParty]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CaseParty.id",
    )
    steps: Mapped[list[Step]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin", order_by="Step.number"
    )
    themes: Mapped[list[CaseTheme]] = relationship(  # read only once a case is closed
        back_populates="case",
        cascade="all, delete-orphan",
        lazy="select",
        order_by="CaseTheme.theme",
    )
    records: Mapped[list[Record]] = relationship(  # never edited or deleted
        back_populates="case", cascade="save-update, merge", lazy="select", order_by="Record.id"
    )

    __table_args__ = (
        Index("ix_case_open_state", "closed", "state"),
        # Open cases in id order: listings of open or overdue cases walk this, not every case.
        Index(
            "ix_case_open",
            "id",
            sqlite_where=sql("closed = 0"),
            postgresql_where=sql("closed = false"),
        ),
    )

    @property
    def current_step(self) -> Step | None:
        if self.closed:
            return None
        return self.steps[-1] if self.steps else None


class CaseAgency(Model):
    """An agency involved in a case, with the case's current clock while it is open.

    The clock (level, due and warning times) is the current step's, kept by the same
    transaction that moves the step (services.changes.set_clock); NULL once the case is
    closed. An agency's counts and lists of its open cases read it from one index."""

    __tablename__ = "case_agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    raising: Mapped[bool] = mapped_column(Boolean, default=False)
    level: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="agencies")
    agency: Mapped[Agency] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("case_id", "agency_id"),
        # An agency's open cases, counted per level and by clock without reading a case.
        Index(
            "ix_case_agency_open",
            "agency_id",
            "level",
            "due_at",
            "warn_at",
            sqlite_where=sql("due_at IS NOT NULL"),
            postgresql_where=sql("due_at IS NOT NULL"),
        ),
        # ... and walked in due order for the first page of them.
        Index(
            "ix_case_agency_open_due",
            "agency_id",
            "due_at",
            sqlite_where=sql("due_at IS NOT NULL"),
            postgresql_where=sql("due_at IS NOT NULL"),
        ),
    )


class CaseParty(Model):
    __tablename__ = "case_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    how: Mapped[str] = mapped_column(String(20))  # raised / named / acted

    case: Mapped[Case] = relationship(back_populates="parties")
    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("case_id", "user_id"),)


class CaseTheme(Model):
    __tablename__ = "case_theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    theme: Mapped[str] = mapped_column(String(40))

    case: Mapped[Case] = relationship(back_populates="themes")

    __table_args__ = (UniqueConstraint("case_id", "theme"),)


class Step(TimescaleDecline, Model):
    """One level a case has been at: its clock, its timescale, its overdue flags."""

    __tablename__ = "step"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    number: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timescale_status: Mapped[str] = mapped_column(String(10), default="default")
    proposed_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    proposed_reason: Mapped[str | None] = mapped_column(Text)
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agreed_proposer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    agreed_reason: Mapped[str | None] = mapped_column(Text)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set by the sweep
    due_soon_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set by the sweep
    went_overdue: Mapped[bool] = mapped_column(Boolean, default=False)

    case: Mapped[Case] = relationship(back_populates="steps")
    # Most steps name nobody here, and those named are parties, held by the session
    # already: a plain lazy load asks nothing of the database for either.
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    agreed_by: Mapped[User | None] = relationship(foreign_keys=[agreed_by_id])
    agreed_proposer: Mapped[User | None] = relationship(foreign_keys=[agreed_proposer_id])

    __table_args__ = (
        UniqueConstraint("case_id", "number"),
        # The sweep's indexes: only open, unflagged steps are in them.
        Index(
            "ix_step_open_due",
            "due_at",
            sqlite_where=sql("ended_at IS NULL AND overdue_at IS NULL"),
            postgresql_where=sql("ended_at IS NULL AND overdue_at IS NULL"),
        ),
        Index(
            "ix_step_open_warn",
            "warn_at",
            sqlite_where=sql("ended_at IS NULL AND due_soon_at IS NULL AND overdue_at IS NULL"),
            postgresql_where=sql("ended_at IS NULL AND due_soon_at IS NULL AND overdue_at IS NULL"),
        ),
        Index(
            "ix_step_current",
            "case_id",
            sqlite_where=sql("ended_at IS NULL"),
            postgresql_where=sql("ended_at IS NULL"),
        ),
        # The Overdue page's first page, earliest due first: walked in order, not sorted.
        Index(
            "ix_step_current_due",
            "due_at",
            "case_id",
            sqlite_where=sql("ended_at IS NULL"),
            postgresql_where=sql("ended_at IS NULL"),
        ),
    )


# The agreed actions the sweep still watches: open (neither done nor withdrawn), unflagged.
OPEN_ACTION = (
    "action_due_at IS NOT NULL AND action_done_at IS NULL AND action_withdrawn_at IS NULL"
    " AND overdue_at IS NULL"
)


class Record(ActionEnd, Model):
    """A written record: never edited or deleted; a correction is a new record."""

    __tablename__ = "record"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    step_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"))
    action_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_soon_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="records")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    acknowledgements: Mapped[list[Acknowledgement]] = relationship(
        back_populates="record", lazy="selectin", order_by="Acknowledgement.at"
    )

    __table_args__ = (
        CheckConstraint("kind in ('discussion','action','decision','note')", name="kind"),
        Index(
            "ix_record_action_due",
            "action_due_at",
            sqlite_where=sql(OPEN_ACTION),
            postgresql_where=sql(OPEN_ACTION),
        ),
    )


class Acknowledgement(Model):
    __tablename__ = "acknowledgement"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    record: Mapped[Record] = relationship(back_populates="acknowledgements")
    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("record_id", "user_id"),)


class AuditEvent(Model):
    """One link of the history's hash chain. Append-only."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(254))
    case_ref: Mapped[str | None] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payload_digest: Mapped[str] = mapped_column(String(64))
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    prev_digest: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))


class Outbox(Model):
    """A notification to send, written in the same transaction as its cause."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The token of the claim that holds the row: only its sender renews and marks it.
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            sqlite_where=sql("sent_at IS NULL"),
            postgresql_where=sql("sent_at IS NULL"),
        ),
    )


class AccessLog(Model):
    """Who looked at what: views, exports, sign-ins. Append-only, outside the chain."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str | None] = mapped_column(String(254))
    what: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(200))
    door: Mapped[str] = mapped_column(String(10))  # web / api / cli


class SignInFailure(Model):
    """Failed sign-ins counted for the throttle, shared by every worker.

    `key` is a SHA-256 of what is counted (an e-mail with an address, an e-mail, an address),
    so nothing typed at the sign-in page is stored as typed.
    """

    __tablename__ = "sign_in_failure"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


from .account_models import Draft, PasswordReset, SignInSession  # noqa: E402, F401
