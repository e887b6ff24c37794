"""The agencies of the partnership, as the pages that offer or name them read them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import rules
from ..models import Agency, User
from .core import Context


def agencies(
    session: Session, ctx: Context, *, active_only: bool = False, excluding: int | None = None
) -> list[Agency]:
    """Return the agencies by name; `excluding`: the id of one to leave out (the user's own)."""
    query = select(Agency).order_by(Agency.name)
    if active_only:
        query = query.where(Agency.active.is_(True))
    if excluding is not None:
        query = query.where(Agency.id != excluding)
    return list(session.scalars(query))


def agency_names(session: Session, ctx: Context) -> dict[str, str]:
    """Return every agency's name by its code, the inactive ones too."""
    return dict(session.execute(select(Agency.code, Agency.name)).tuples().all())


def people(
    session: Session, ctx: Context, agency_ids: Iterable[int], *, excluding: Iterable[int] = ()
) -> list[User]:
    """Return the active practitioners, managers and leads of these agencies (the people a
    case can name), by agency then name; `excluding`: ids to leave out."""
    skip = set(excluding)
    query = (
        select(User)
        .join(Agency, Agency.id == User.agency_id)
        .where(
            User.agency_id.in_(set(agency_ids)),
            User.active.is_(True),
            User.role.in_(rules.RAISERS),
        )
        .order_by(Agency.name, User.name, User.email)
    )
    return [u for u in session.scalars(query) if u.id not in skip]


def agencies_by_code(session: Session, ctx: Context, codes: Iterable[str]) -> list[Agency]:
    """Return the agencies with these codes, in the order given (unknown codes left out)."""
    wanted = list(codes)
    found = {a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(wanted)))}
    return [found[c] for c in wanted if c in found]


# The payload keys of history events that hold people's e-mail addresses.
PEOPLE_KEYS = ("from", "to", "people", "agreed_by", "proposed_by", "confirmed_by", "by")


def names_in_history(session: Session, ctx: Context, events: Iterable[Any]) -> dict[str, str]:
    """Return the names of everyone a case's history mentions (who acted, who was handed a part,
    brought in or agreed), by e-mail address: the timeline names people, not addresses."""
    emails: set[str] = set()
    for event in events:
        if event.actor:
            emails.add(str(event.actor))
        for key in PEOPLE_KEYS:
            value = (event.payload or {}).get(key)
            emails.update(str(v) for v in (value if isinstance(value, list) else [value]) if v)
    if not emails:
        return {}
    found = session.execute(select(User.email, User.name).where(User.email.in_(emails)))
    return dict(found.tuples().all())
