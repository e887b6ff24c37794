"""The agencies of the partnership, as the pages that offer or name them read them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Agency
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
