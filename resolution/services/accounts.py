"""Agencies, users, passwords and API tokens (forgotten-password links: `resets`)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session, joinedload
from zxcvbn import zxcvbn

from ..account_models import Draft
from ..domain.definitions import ROLES
from ..models import Agency, ApiToken, User
from . import directory
from .core import Context, UnitOfWork, unit_of_work
from .errors import Conflict, Invalid, NotFound

_hasher = PasswordHasher()
# Verified against when no such user exists, so a wrong e-mail costs the same time.
_DUMMY_HASH = _hasher.hash("not a real password")
AGENCY_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_-]{1,19}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,40}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 200
# zxcvbn's score of 3 means about 10^8 guesses or more: not on its list of the 30,000 most
# common passwords, nor built from it, from words or from repeats, sequences or keyboard runs.
MIN_PASSWORD_SCORE = 3
ESTIMATED_LENGTH = 72  # zxcvbn refuses longer input; the first 72 characters decide
MIN_TOKEN_DAYS, MAX_TOKEN_DAYS = 1, 366
TOKEN_PREFIX = "rsl_"  # noqa: S105 - a prefix that marks our tokens, not a secret  # nosec B105


def hash_token(token: str) -> str:
    """Return the stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


CONTACT_WRONG = "give an e-mail address, such as team@agency.example"


def _contact(contact_email: str | None) -> str | None:
    """Return an agency's contact address folded to lower case, or None when not given."""
    return (contact_email or "").strip().lower() or None


def _checked_contact(contact_email: str | None) -> str | None:
    """Return an agency's contact address checked and folded to lower case, or None."""
    contact = _contact(contact_email)
    if contact is not None and not EMAIL_RE.match(contact):
        raise Invalid.field("contact_email", CONTACT_WRONG)
    return contact


def create_agency(
    session: Session,
    ctx: Context,
    code: str,
    name: str,
    *,
    actor: str = "cli",
    contact_email: str | None = None,
) -> Agency:
    """Add an agency; `contact_email` is told of its cases when nobody there is named."""
    code = code.strip().upper()
    name = name.strip()
    problems: dict[str, list[str]] = {}  # every bad field at once
    if not AGENCY_CODE_RE.match(code):
        problems["code"] = ["use 2 to 20 capital letters, digits, - or _, starting with a letter"]
    if not name or len(name) > 200:
        problems["name"] = ["give a name of 1 to 200 characters"]
    contact = _contact(contact_email)
    if contact is not None and not EMAIL_RE.match(contact):
        problems["contact_email"] = [CONTACT_WRONG]
    if problems:
        raise Invalid("; ".join(f"{k}: {v[0]}" for k, v in problems.items()), problems)
    with unit_of_work(session, ctx.now) as uow:
        if uow.session.scalar(select(Agency.id).where(Agency.code == code)):
            raise Conflict(f"agency {code} exists already", {"code": ["already exists"]})
        agency = Agency(code=code, name=name, active=True, contact_email=contact)
        uow.session.add(agency)
        uow.record_event(
            actor=actor,
            action="agency_added",
            payload={"code": code, "name": name, "contact_email": contact},
        )
    return agency


def set_agency_contact(
    session: Session, ctx: Context, code: str, contact_email: str | None, *, actor: str = "cli"
) -> Agency:
    """Set (or, with None, clear) the address an agency is told at when nobody is named."""
    contact = _checked_contact(contact_email)
    with unit_of_work(session, ctx.now) as uow:
        agency = uow.session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
        if agency is None:
            raise NotFound(f"no agency {code}")
        agency.contact_email = contact
        uow.record_event(
            actor=actor,
            action="agency_contact_set",
            payload={"code": agency.code, "contact_email": contact},
        )
    return agency


def validate_password(password: str, email: str | None = None) -> None:
    """Refuse a password that is too short or long, one repeated character, the user's
    e-mail address or its local part, or one that zxcvbn finds common or easy to guess."""
    if len(password) < MIN_PASSWORD:
        raise Invalid.field("password", f"use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid.field("password", f"use at most {MAX_PASSWORD} characters")
    if len(set(password)) == 1:
        raise Invalid.field("password", "use a mix of characters, not one character repeated")
    folded = password.strip().casefold()
    inputs = [email.strip().lower(), email.strip().lower().partition("@")[0]] if email else []
    if folded in inputs:
        raise Invalid.field("password", "use a password that is not your email address")
    if zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        raise Invalid.field(
            "password",
            "use a password that is harder to guess, such as 3 or 4 random words: "
            "this one is common or made of common words, names or patterns",
        )


def create_user(
    session: Session,
    ctx: Context,
    *,
    email: str,
    name: str,
    agency: str,
    role: str,
    password: str | None,
    actor: str = "cli",
) -> User:
    """Add a user; without a password they can only use API tokens. Every bad field is
    refused at once."""
    email = email.strip().lower()
    problems: dict[str, list[str]] = {}
    if not EMAIL_RE.match(email):
        problems["email"] = ["give a valid e-mail address, like name@agency.org"]
    if not name.strip() or len(name) > 200:
        problems["name"] = ["give a name of 1 to 200 characters"]
    if role not in ROLES:
        problems["role"] = [f"must be one of {', '.join(ROLES)}"]
    if password is not None:
        try:
            validate_password(password, email)
        except Invalid as exc:
            problems.update(exc.fields)
    with unit_of_work(session, ctx.now) as uow:
        found = uow.session.scalar(select(Agency).where(Agency.code == agency.strip().upper()))
        if found is None or not found.active:
            problems["agency"] = [f"unknown agency '{agency}'"]
        exists = "email" not in problems and uow.session.scalar(
            select(User.id).where(User.email == email)
        )
        if exists and not problems:
            raise Conflict(f"user {email} exists already", {"email": ["already exists"]})
        if exists:
            problems["email"] = [f"a user with the e-mail address {email} exists already"]
        if problems:
            raise Invalid(
                "; ".join(f"{key}: {messages[0]}" for key, messages in problems.items()),
                problems,
            )
        assert found is not None
        user = User(
            email=email,
            name=name.strip(),
            agency_id=found.id,
            role=role,
            password_hash=_hasher.hash(password) if password else None,
            active=True,
            created_at=ctx.now,
            session_epoch=0,
        )
        user.agency = found
        uow.session.add(user)
        uow.record_event(
            actor=actor,
            action="user_added",
            payload={"email": email, "agency": found.code, "role": role},
        )
    return user


def find_user(session: Session, ctx: Context, email: str) -> User:
    """Return the user with this e-mail."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email}")
    return user


UNKNOWN = "unknown"  # the access log's name for a failed sign-in with no such account


def sign_in_name(session: Session, ctx: Context, typed: str) -> str:
    """Return the e-mail of the account a failed sign-in was for, or UNKNOWN when none is.

    What was typed is never stored as it is: it may be a password typed in the wrong box.
    """
    email = typed.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        return UNKNOWN
    found = session.scalar(select(User.email).where(User.email == email))
    return found or UNKNOWN


def check_password(session: Session, ctx: Context, email: str, password: str) -> User | None:
    """Return the active user whose password this is, or None (same cost either way)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or not user.password_hash:
        return None
    return user


def _revoke_live_tokens(session: Session, ctx: Context, user: User) -> int:
    """Revoke every live token of `user` inside the caller's unit of work; return how many."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=ctx.now)
    )
    assert isinstance(result, CursorResult)  # as an UPDATE's is (typed as a Result)
    return result.rowcount


def set_password(
    session: Session, ctx: Context, email: str, password: str, *, actor: str = "cli"
) -> User:
    """Set a new password: the user's existing sessions end and their API tokens are revoked."""
    email = email.strip().lower()
    validate_password(password, email)
    stored = _hasher.hash(password)  # before the transaction: hashing is slow on purpose
    with unit_of_work(session, ctx.now) as uow:
        user = uow.session.scalar(select(User).where(User.email == email))
        if user is None:
            raise NotFound(f"no user {email}")
        replace_password(uow, ctx, user, stored, "password_reset", actor)
    return user


def change_password(session: Session, ctx: Context, user_id: int, current: str, new: str) -> User:
    """Let a user change their own password, given the current one.

    As with a reset, their sessions end (the door signs the current one in again at the
    new epoch) and their API tokens are revoked.
    """
    found = session.get(User, user_id)
    if found is None or not found.active or not found.password_hash:
        raise NotFound("no such user")
    try:
        _hasher.verify(found.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise Invalid.field("current", "enter your current password correctly") from None
    if new == current:
        raise Invalid.field("password", "use a new password, not your current one")
    validate_password(new, found.email)
    stored = _hasher.hash(new)
    with unit_of_work(session, ctx.now) as uow:
        user = uow.session.get(User, user_id)
        assert user is not None  # users are deactivated, never deleted
        replace_password(uow, ctx, user, stored, "password_changed", user.email)
    return user


def hash_password(password: str) -> str:
    """Return the stored form of a password (slow on purpose: call it outside a transaction)."""
    return _hasher.hash(password)


def replace_password(
    uow: UnitOfWork, ctx: Context, user: User, stored: str, action: str, actor: str
) -> None:
    """Store a new password hash, end the user's sessions and revoke their API tokens."""
    user.password_hash = stored
    user.session_epoch += 1
    revoked = _revoke_live_tokens(uow.session, ctx, user)
    uow.record_event(
        actor=actor, action=action, payload={"email": user.email, "tokens_revoked": revoked}
    )


def set_active(
    session: Session, ctx: Context, email: str, active: bool, *, actor: str = "cli"
) -> User:
    """Activate or deactivate a user; deactivation ends sessions and tokens at once."""
    with unit_of_work(session, ctx.now) as uow:
        user = uow.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"no user {email}")
        user.active = active
        user.pending = False  # activating an account asked for at sign-in approves it
        user.session_epoch += 1
        if not active:
            _revoke_live_tokens(uow.session, ctx, user)
            # Their drafts hold a child's details that nobody else may read: gone with them.
            uow.session.execute(delete(Draft).where(Draft.author_id == user.id))
        uow.record_event(
            actor=actor,
            action="user_activated" if active else "user_deactivated",
            payload={"email": user.email},
        )
    return user


def set_role(session: Session, ctx: Context, email: str, role: str, *, actor: str = "cli") -> User:
    """Change a user's role."""
    if role not in ROLES:
        raise Invalid.field("role", f"must be one of {', '.join(ROLES)}")
    with unit_of_work(session, ctx.now) as uow:
        user = uow.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"no user {email}")
        old = user.role
        user.role = role
        user.session_epoch += 1
        uow.record_event(
            actor=actor,
            action="role_changed",
            payload={"email": user.email, "from": old, "to": role},
        )
    return user


def issue_token(
    session: Session, ctx: Context, email: str, *, days: int = 90, actor: str = "cli"
) -> str:
    """Issue an API token; it is shown once and stored hashed."""
    if not MIN_TOKEN_DAYS <= days <= MAX_TOKEN_DAYS:
        raise Invalid.field("days", f"a token lasts {MIN_TOKEN_DAYS} to {MAX_TOKEN_DAYS} days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(session, ctx.now) as uow:
        user = uow.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or not user.active:
            raise NotFound(f"no active user {email}")
        uow.session.add(
            ApiToken(
                user_id=user.id,
                token_hash=hash_token(token),
                hint=token[-4:],
                created_at=ctx.now,
                expires_at=ctx.now + timedelta(days=days),
            )
        )
        uow.record_event(
            actor=actor, action="token_issued", payload={"email": user.email, "days": days}
        )
    return token


def revoke_tokens(session: Session, ctx: Context, email: str, *, actor: str = "cli") -> int:
    """Revoke every live token of a user; return how many."""
    with unit_of_work(session, ctx.now) as uow:
        user = uow.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"no user {email}")
        count = _revoke_live_tokens(uow.session, ctx, user)
        uow.record_event(
            actor=actor, action="tokens_revoked", payload={"email": user.email, "count": count}
        )
    return count


def user_for_token(session: Session, ctx: Context, token: str) -> User | None:
    """Return the active user a live token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    found = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == hash_token(token))
    )
    if found is None or not found.live_at(ctx.now):
        return None
    return found.user if found.user.active else None


@dataclass(frozen=True)
class Overview:
    """What the administration page lists."""

    agencies: list[Agency]  # by name
    users: list[User]  # by name
    live_tokens: dict[int, int]  # user id -> how many live API tokens they hold


def overview(session: Session, ctx: Context) -> Overview:
    """Return the agencies, the users and each user's count of live API tokens at `ctx.now`."""
    live = (
        select(ApiToken.user_id, func.count())
        .where(ApiToken.live_clause(ctx.now))
        .group_by(ApiToken.user_id)
    )
    return Overview(
        agencies=directory.agencies(session, ctx),
        users=list(session.scalars(select(User).order_by(User.name))),
        live_tokens=dict(session.execute(live).tuples().all()),
    )


def user_by_id(session: Session, ctx: Context, user_id: int) -> User | None:
    """Return the user with this id, or None."""
    return session.get(User, user_id)


def tokens_of(session: Session, ctx: Context, user_id: int) -> list[ApiToken]:
    """Return a user's API tokens, live or not, oldest first."""
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    )
