"""Statements sent straight to the database driver's cursor, compiled once per dialect.

SQLAlchemy's execution of an already compiled statement (its execution context, the
parameters, the result and its metadata) cost about 30 µs against the driver's 5 µs
for a one-row statement, and most of a change or of a read of a case is such
statements. The hot ones go through here instead: each Core statement is compiled
once per dialect, with the values fixed in it and its column types' conversions
(UTC instants, booleans, JSON) worked out as SQLAlchemy works them out, and sent on
the cursor of the session's own connection, in the same transaction. Statements with
expanding lists (`IN` of a list) are not for this path: they are rewritten per call;
an INSERT names its columns (`values()` of bind parameters), as SQLAlchemy would
otherwise work them out from each call's parameters.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement

from ..sessions import mark_written, reads_only

Convert = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Sql:
    """A statement as the driver takes it, and how to read the rows it returns."""

    text: str
    # (name, value when the caller gives none, the type's conversion) in the driver's order
    params: tuple[tuple[str, Any, Convert], ...]
    positional: bool
    reads: bool  # a SELECT: it writes nothing
    row: Any  # a named tuple class of the columns it returns, if any
    converts: tuple[Convert, ...]  # each returned column's conversion

    def layout(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """Return the driver's parameters for `values`, converted as the types say."""
        laid = [
            (name, values.get(name, fixed) if convert is None else convert(values.get(name, fixed)))
            for name, fixed, convert in self.params
        ]
        return [v for _, v in laid] if self.positional else dict(laid)

    def shape(self, raw: Sequence[Any]) -> Any:
        """Return one of the driver's rows converted, as a named tuple."""
        return self.row._make(
            value if convert is None or value is None else convert(value)
            for value, convert in zip(raw, self.converts, strict=True)
        )


@lru_cache(maxsize=512)
def compiled(statement: ClauseElement, dialect: Dialect) -> Sql:
    """Compile a Core statement once for a dialect, as the driver's cursor takes it."""
    done = statement.compile(dialect=dialect)
    binds = {name: bind for bind, name in done.bind_names.items()}
    names = done.positiontup if done.positional else list(binds)
    params = []
    for name in names or ():
        bind = binds[name]
        if bind.expanding:
            raise ValueError(f"{name}: a list parameter is rewritten per call, not sent here")
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        params.append((name, None if bind.required else bind.effective_value, convert))
    columns = list(getattr(statement, "exported_columns", ()))  # a SELECT's, or RETURNING's
    converts = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return Sql(
        text=done.string,
        params=tuple(params),
        positional=bool(done.positional),
        reads=reads_only(done.string),
        row=namedtuple("Row", [c.key for c in columns], rename=True) if columns else None,  # noqa: PYI024
        converts=converts,
    )


def cursor(connection: Connection) -> Any:
    """Return a new cursor of the driver's connection under `connection`."""
    return connection.connection.cursor()


def execute(
    connection: Connection, raw: Any, statement: ClauseElement, values: Mapping[str, Any]
) -> Sql:
    """Run one statement on the cursor `raw` of `connection`; return how it was compiled."""
    sql = compiled(statement, connection.dialect)
    if not sql.reads:
        mark_written(connection)
    raw.execute(sql.text, sql.layout(values))
    return sql


def execute_many(
    connection: Connection, raw: Any, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run one writing statement for each of some rows of parameters on the cursor `raw`."""
    sql = compiled(statement, connection.dialect)
    mark_written(connection)
    raw.executemany(sql.text, [sql.layout(row) for row in rows])


def rows(connection: Connection, statement: ClauseElement, values: Mapping[str, Any]) -> list[Any]:
    """Run one statement and return all its rows, converted, as named tuples."""
    raw = cursor(connection)
    try:
        sql = execute(connection, raw, statement, values)
        return [sql.shape(r) for r in raw.fetchall()]
    finally:
        raw.close()


def first(connection: Connection, statement: ClauseElement, values: Mapping[str, Any]) -> Any:
    """Run one statement and return its first row, converted, or None."""
    found = rows(connection, statement, values)
    return found[0] if found else None
