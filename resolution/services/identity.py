"""Who a provider's signed-in identity is here: matched by verified e-mail, bound to its `sub`.

Accounts stay ours: an identity signs in only as an existing active user of one of its
provider's agencies. It is matched once by its verified e-mail and bound to the provider's
subject; afterwards the binding alone decides. Optionally (`auto_create = "pending"`) an
unknown verified identity gets an inactive account that an admin must approve (activate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..identity_config import Provider
from ..identity_models import IdentityBinding
from ..models import Agency, User
from .accounts import EMAIL_RE
from .core import Context, unit_of_work
from .errors import ServiceError

PENDING_ROLE = "practitioner"  # the least a pending account could do, once approved
WAITING = (
    "Your account has been asked for. An administrator must approve it before you can use "
    "this service"
)


@dataclass(frozen=True)
class Identity:
    """What a provider's checked ID token says about who signed in."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    amr: tuple[str, ...]

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], verified_claim: str) -> Identity:
        """Read the claims of a checked ID token (Authlib's `token["userinfo"]`)."""
        email = claims.get("email")
        verified = claims.get(verified_claim)
        amr = claims.get("amr")
        name = claims.get("name")
        return cls(
            subject=str(claims.get("sub") or ""),
            email=email.strip().lower() if isinstance(email, str) else None,
            email_verified=verified is True or verified == "true",
            name=name.strip() if isinstance(name, str) and name.strip() else None,
            amr=tuple(str(m) for m in amr) if isinstance(amr, list) else (),
        )


class SignInRefused(ServiceError):
    """A provider's identity that may not sign in here; `reason` is what the access log says."""

    code = "sign_in_refused"
    status = 403

    def __init__(self, reason: str, message: str, user: User | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.user = user


def _check_user(provider: Provider, user: User) -> None:
    """Refuse a user who may not sign in with this provider now."""
    if user.pending:
        raise SignInRefused(
            "account waiting for approval",
            WAITING,
            user,
        )
    if not user.active:
        raise SignInRefused(
            "account deactivated",
            "Your account for this service has been deactivated. Ask your partnership's "
            "administrator if you still need it",
            user,
        )
    if user.agency.code not in provider.agencies:
        raise SignInRefused(
            f"agency {user.agency.code} does not sign in with this provider",
            f"Your agency does not sign in here with “{provider.title}”. "
            "Go back and choose your own agency's account",
            user,
        )


def _bound_user(session: Session, provider: Provider, subject: str) -> IdentityBinding | None:
    return session.scalar(
        select(IdentityBinding).where(
            IdentityBinding.provider == provider.key, IdentityBinding.subject == subject
        )
    )


def sign_in(session: Session, ctx: Context, provider: Provider, identity: Identity) -> User:
    """Return the user this identity signs in as, binding it on first use; else refuse."""
    if not identity.subject or len(identity.subject) > 255:
        raise SignInRefused("no usable subject", "Your account's provider did not say who you are")
    binding = _bound_user(session, provider, identity.subject)
    if binding is not None:
        _check_user(provider, binding.user)
        with unit_of_work(session, ctx.now) as uow:
            found = uow.session.get(IdentityBinding, binding.id)
            assert found is not None  # bindings are never deleted
            found.last_at = ctx.now
        return found.user
    if not identity.email or not EMAIL_RE.match(identity.email) or not identity.email_verified:
        raise SignInRefused(
            "e-mail not verified",
            "Your account's provider did not confirm your email address, so it cannot be "
            "matched to an account here. Ask your agency's IT team to verify it",
        )
    user = session.scalar(select(User).where(User.email == identity.email))
    if user is None:
        if provider.auto_create == "pending":
            return _ask_for_account(session, ctx, provider, identity)
        raise SignInRefused(
            "no account with this e-mail",
            "There is no account for your email address here. Ask your partnership's "
            "administrator to add you",
        )
    _check_user(provider, user)
    with unit_of_work(session, ctx.now) as uow:  # writers queue here: read again under it
        taken = uow.session.scalar(
            select(IdentityBinding.subject).where(
                IdentityBinding.provider == provider.key, IdentityBinding.user_id == user.id
            )
        )
        if taken == identity.subject:  # bound by a sign-in that finished just before this one
            return user
        if taken is not None:
            raise SignInRefused(
                "account bound to another identity at this provider",
                "Your account here is linked to a different account at your agency. Ask your "
                "partnership's administrator",
                user,
            )
        _bind(uow.session, provider, identity, user, ctx)
        uow.record_event(
            actor=user.email,
            action="identity_bound",
            payload={"email": user.email, "provider": provider.key},
        )
    return user


def _bind(
    session: Session, provider: Provider, identity: Identity, user: User, ctx: Context
) -> None:
    session.add(
        IdentityBinding(
            provider=provider.key,
            subject=identity.subject,
            user_id=user.id,
            bound_at=ctx.now,
            last_at=ctx.now,
        )
    )


def _ask_for_account(
    session: Session, ctx: Context, provider: Provider, identity: Identity
) -> User:
    """Add an inactive, pending account for a verified unknown identity, then refuse."""
    assert identity.email is not None  # checked by the caller
    with unit_of_work(session, ctx.now) as uow:
        if uow.session.scalar(select(User.id).where(User.email == identity.email)) is not None:
            raise SignInRefused(  # asked for by a sign-in that finished just before this one
                "account waiting for approval",
                WAITING,
            )
        agency = uow.session.scalar(
            select(Agency).where(Agency.code == provider.agencies[0], Agency.active.is_(True))
        )
        if agency is None:
            raise SignInRefused(
                f"agency {provider.agencies[0]} not found",
                "There is no account for your email address here. Ask your partnership's "
                "administrator to add you",
            )
        user = User(
            email=identity.email,
            name=(identity.name or identity.email.partition("@")[0])[:200],
            agency_id=agency.id,
            role=PENDING_ROLE,
            password_hash=None,
            active=False,
            pending=True,
            created_at=ctx.now,
            session_epoch=0,
        )
        user.agency = agency
        uow.session.add(user)
        uow.session.flush()
        _bind(uow.session, provider, identity, user, ctx)
        uow.record_event(
            actor=identity.email,
            action="user_requested",
            payload={"email": identity.email, "agency": agency.code, "provider": provider.key},
        )
    raise SignInRefused(
        "account asked for: waiting for approval",
        WAITING,
        user,
    )


def passwords_allowed(providers: Iterable[Provider], agency_code: str) -> bool:
    """Tell whether users of an agency may sign in with a password here."""
    return all(p.passwords or agency_code not in p.agencies for p in providers)


def any_passwords(providers: Iterable[Provider], agency_codes: Iterable[str]) -> bool:
    """Tell whether any of these agencies (the active ones) still allows passwords."""
    listed = tuple(providers)
    return any(passwords_allowed(listed, code) for code in agency_codes)
