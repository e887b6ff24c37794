"""The sign-in throttle's counts, kept in the database so that every worker shares them.

Three counts slow a guesser down: an e-mail tried from one address (the tightest), an
e-mail tried from anywhere, and an address trying any e-mail. The two wider counts allow
`WIDER` times as many failures first, so one office behind one address is not held up.
After its free failures each count makes every further attempt wait a window that doubles
with every failure, up to `longest` seconds; a success clears the e-mail's two counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Executable, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..columns import table_of
from ..models import SignInFailure
from .core import Context, engine_of

WIDER = 10


@dataclass(frozen=True)
class Policy:
    """How many failures are free, the first wait, the longest, and when a count is forgotten."""

    free: int = 3
    first: float = 2.0
    longest: float = 900.0
    forget: float = 3600.0

    def window(self, count: int, free: int | None = None) -> float:
        """Return the wait imposed after `count` failures when `free` of them cost nothing."""
        free = self.free if free is None else free
        if count < free:
            return 0.0
        return float(min(self.longest, self.first * 2 ** (count - free)))


def _keys(policy: Policy, email: str, address: str) -> dict[str, int]:
    """Return each count's hashed key with its free failures."""
    email = email.strip().lower()

    def key(*parts: str) -> str:
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()

    return {
        key("pair", email, address): policy.free,
        key("email", email): policy.free * WIDER,
        key("address", address): policy.free * WIDER,
    }


def wait_left(session: Session, ctx: Context, policy: Policy, email: str, address: str) -> float:
    """Return how many seconds must pass before this e-mail may be tried again from here."""
    keys = _keys(policy, email, address)
    with engine_of(session).connect() as connection:  # its own: it sees the other workers' counts
        rows = connection.execute(
            select(SignInFailure.key, SignInFailure.failures, SignInFailure.last_at).where(
                SignInFailure.key.in_(keys)
            )
        ).all()
    wait = 0.0
    for key, failures, last_at in rows:
        elapsed = max(0.0, (ctx.now - last_at).total_seconds())
        if elapsed <= policy.forget:
            wait = max(wait, policy.window(failures, keys[key]) - elapsed)
    return wait


def _count_one(dialect: str, key: str, ctx: Context, cutoff: datetime) -> Executable:
    """Return the statement that adds one failure to a count, or starts it (at 1)."""
    table = table_of(SignInFailure)
    again = {
        # A count last touched before `cutoff` is forgotten: it starts again at 1.
        "failures": case((table.c.last_at < cutoff, 1), else_=table.c.failures + 1),
        "last_at": ctx.now,
    }
    values = {"key": key, "failures": 1, "last_at": ctx.now}
    if dialect == "postgresql":
        pg = postgresql.insert(table).values(values)
        return pg.on_conflict_do_update(index_elements=[table.c.key], set_=again)
    lite = sqlite.insert(table).values(values)
    return lite.on_conflict_do_update(index_elements=[table.c.key], set_=again)


def failed(session: Session, ctx: Context, policy: Policy, email: str, address: str) -> None:
    """Count one failure in each count, in a short transaction of its own."""
    cutoff = ctx.now - timedelta(seconds=policy.forget)
    engine = engine_of(session)
    with engine.begin() as connection:
        connection.execute(delete(SignInFailure).where(SignInFailure.last_at < cutoff))
        for key in sorted(_keys(policy, email, address)):  # one order: no deadlock between two
            connection.execute(_count_one(engine.dialect.name, key, ctx, cutoff))


def succeeded(session: Session, ctx: Context, policy: Policy, email: str, address: str) -> None:
    """Forget this e-mail's failures (the address's own count stays: it guards other e-mails)."""
    pair, by_email, _ = _keys(policy, email, address)
    with engine_of(session).begin() as connection:
        connection.execute(delete(SignInFailure).where(SignInFailure.key.in_([pair, by_email])))
