"""What the tables are built on: the mapped base class and the type of every instant.

Instants are stored in UTC with their offset (`DateTime(timezone=True)`); on SQLite, which
keeps no offset, `UTCDateTime` puts it back on the way out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Table, TypeDecorator

from .extensions import db

__all__ = ["Model", "UTCDateTime", "table_of"]

if TYPE_CHECKING:  # Flask-SQLAlchemy's db.Model is made at run time; it is a Base
    from .extensions import Base as Model
else:
    Model = db.Model


def table_of(model: type[Model]) -> Table:
    """Return a mapped class's table, for Core statements."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant stored in UTC, read back aware on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
