"""The unit of work every change goes through: one transaction, one chain of events.

The audit chain has one head (a row holding the newest event's number and digest),
and whoever holds it writes the next events. On SQLite a writer locks the head
first, so writes are serialised and every read after it is fresh (SQLite allows one
writer at a time anyway, and taking the write lock first avoids two readers both
trying to upgrade). On PostgreSQL a change to one case locks that case's row first
(`FOR NO KEY UPDATE`: writers of the same case queue, writers of different cases go
on side by side) and takes the head only at the end, to number and chain its events
and commit; so do the sweep's chunks, whose conditional updates need no lock to flag
each item once. Other changes (raising a case, accounts, retention) take the head
first, as on SQLite; none of them waits for a row a case's writer holds, so the two
orders cannot deadlock. Any refusal raised before the commit rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, Table, bindparam, insert, inspect, select, text, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ClauseElement

from ..domain import audit
from ..domain.machines import Workflows
from ..extensions import db
from ..models import Agency, AuditEvent, AuditHead, Outbox, User
from . import driver

_HEAD, _EVENTS, _OUTBOX = AuditHead.__table__, AuditEvent.__table__, Outbox.__table__
_LOCK_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq)
    .returning(_HEAD.c.seq, _HEAD.c.digest)
)
_HEAD_ROW = select(_HEAD.c.seq, _HEAD.c.digest).where(_HEAD.c.id == 1)
_LOCK_CASE = text("SELECT id FROM case_file WHERE id = :id FOR NO KEY UPDATE")
_MOVE_HEAD = (
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("seq"), digest=bindparam("digest"))
)

Row = TypeVar("Row")

_USER_TABLE, _AGENCY_TABLE = User.__table__, Agency.__table__
_USER_KEYS = tuple(c.key for c in _USER_TABLE.c)
_AGENCY_KEYS = tuple(c.key for c in _AGENCY_TABLE.c)
# A user and their agency in one row, for `user_from_row` (add columns or joins as needed).
USER_ROW = select(
    *[c.label(f"u_{c.key}") for c in _USER_TABLE.c],
    *[c.label(f"a_{c.key}") for c in _AGENCY_TABLE.c],
).join_from(_USER_TABLE, _AGENCY_TABLE, _USER_TABLE.c.agency_id == _AGENCY_TABLE.c.id)
_USER_BY_ID = USER_ROW.where(_USER_TABLE.c.id == bindparam("id"))


def user_from_row(session: Session, row: Mapping[str, Any]) -> User:
    """Return the user of a `USER_ROW` row: the session's object, or one made from the row.

    One plain statement and two objects made from its row: the ORM's own loader took
    five times as long for the same row (0.56 against 0.10 ms on this machine), and
    every request and every change reads its user. The objects are filled as the ORM's
    loader fills them (values straight into their dict, as loaded), not through their
    constructors, whose attribute events cost as much again.
    """
    held = session.identity_map.get(inspect(User).identity_key_from_primary_key([row["u_id"]]))
    if held is not None:
        return held  # type: ignore[no-any-return]
    agency = session.identity_map.get(
        inspect(Agency).identity_key_from_primary_key([row["a_id"]])
    ) or _adopt(session, _as_loaded(Agency, {k: row[f"a_{k}"] for k in _AGENCY_KEYS}))
    user = _as_loaded(User, {k: row[f"u_{k}"] for k in _USER_KEYS})
    set_committed_value(user, "agency", agency)
    return _adopt(session, user)


def _as_loaded(model: type[Row], values: dict[str, Any]) -> Row:
    """Return an instance of `model` holding `values` as if loaded from its row."""
    obj = inspect(model).class_manager.new_instance()
    obj.__dict__.update(values)
    return obj  # type: ignore[no-any-return]


def load_user(session: Session, user_id: int) -> User | None:
    """Return a user with their agency, as the session holds them or read afresh."""
    held = session.identity_map.get(inspect(User).identity_key_from_primary_key([user_id]))
    if held is not None:
        return held  # type: ignore[no-any-return]
    row = driver.first(session.connection(), _USER_BY_ID, {"id": user_id})
    return user_from_row(session, row._asdict()) if row is not None else None


def _adopt(session: Session, obj: Row) -> Row:
    """Make an object whose row exists persistent in the session, as if just loaded."""
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


@dataclass(frozen=True)
class _Shape:
    """What writing a mapped class's rows by hand needs to know, worked out once per class."""

    mapper: Any
    table: Table
    columns: tuple[tuple[str, Column[Any]], ...]  # (attribute, column)
    primary_key: tuple[str, ...]  # attributes
    column_names: dict[str, str]  # attribute -> column
    relationships: frozenset[str]


@cache
def _shape(model: type) -> _Shape:
    mapper = inspect(model)
    columns = tuple((prop.key, prop.columns[0]) for prop in mapper.column_attrs)
    return _Shape(
        mapper=mapper,
        table=mapper.local_table,
        columns=columns,
        primary_key=tuple(key for key, column in columns if column.primary_key),
        column_names={key: column.key for key, column in columns},
        relationships=frozenset(mapper.relationships.keys()),
    )


@cache
def _update(table: Table, keys: tuple[str, ...]) -> Any:
    """An UPDATE of some columns of one row by its id; built once per shape, then cached."""
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({key: bindparam(f"new_{key}") for key in keys})
    )


@cache
def _insert_of(table: Table, keys: tuple[str, ...], returning: bool) -> Any:
    """An INSERT of some columns of one row; with `returning`, it gives back the key."""
    statement = insert(table).values({key: bindparam(key) for key in keys})
    return statement.returning(*table.primary_key.columns) if returning else statement


@dataclass(frozen=True)
class Context:
    """What every service call needs from its door: the workflows and the time."""

    workflows: Workflows
    now: datetime
    base_url: str = "http://127.0.0.1:5000"

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")

    def case_url(self, case_id: int) -> str:
        """Return the link to a case's page."""
        return f"{self.base_url.rstrip('/')}/cases/{case_id}"


@dataclass(frozen=True)
class Message:
    to_email: str
    subject: str
    body: str
    kind: str
    case_id: int | None


class UnitOfWork:
    """One all-or-nothing change: rows, history events and notifications."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.seq = 0
        self.digest = audit.GENESIS
        self.events = 0
        self.locked = False
        self._events: list[dict[str, Any]] = []
        self._outbox: list[dict[str, Any]] = []
        self._conn: Connection | None = None
        self._raw: Any = None

    @property
    def conn(self) -> Connection:
        """The session's connection in this transaction, for Core statements."""
        if self._conn is None:
            self._conn = self.session.connection()
        return self._conn

    # The unit's own statements go straight to the driver's cursor (see `driver`): a
    # change sends ten of them, and SQLAlchemy's execution was a third of its time.

    def close(self) -> None:
        """Let go of the driver's cursor, if the unit opened one (before the connection
        goes back to the pool, which may close it)."""
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def execute(self, statement: ClauseElement, values: Mapping[str, Any]) -> Any:
        """Run one statement on the driver's cursor; return the cursor (for its rows)."""
        if self._raw is None:
            self._raw = driver.cursor(self.conn)
        driver.execute(self.conn, self._raw, statement, values)
        return self._raw

    def execute_many(self, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for each of some rows of parameters."""
        if self._raw is None:
            self._raw = driver.cursor(self.conn)
        driver.execute_many(self.conn, self._raw, statement, rows)

    # The case changes write their rows with Core statements and keep the objects they
    # hold up to date by hand: the ORM's flush (history, cascades, dependency sort) cost
    # more than everything else in a change together (see the lifecycle benchmark).

    def add(self, model: type[Row], **values: Any) -> Row:
        """Insert a row of `model` with one statement; return it as a persistent object.

        Columns not named get their default (or NULL), on the row and on the object
        alike, so reading them later asks nothing of the database. Relationships may
        be named too (objects already in the database), to be set on the object only.
        The object is filled as the ORM's loader fills one, not through its
        constructor, whose attribute events cost as much as the insert.
        """
        shape = _shape(model)
        obj = shape.mapper.class_manager.new_instance()
        state = obj.__dict__
        row: dict[str, Any] = {}
        for key, column in shape.columns:
            if key in values:
                value = values[key]
            elif column.primary_key:
                continue
            elif column.default is not None and not column.default.is_scalar:
                raise TypeError(f"{model.__name__}.{key}: only plain defaults are written here")
            else:
                value = column.default.arg if column.default is not None else None
            state[key] = value
            if value is not None or column.default is not None:
                row[column.key] = value  # a NULL without a default is left to the table
        keys = tuple(row)
        if self.conn.dialect.name == "sqlite":
            cursor = self.execute(_insert_of(shape.table, keys, False), row)
            inserted = (cursor.lastrowid,)
        else:
            inserted = self.execute(_insert_of(shape.table, keys, True), row).fetchone()
        state.update(zip(shape.primary_key, inserted, strict=True))
        for key in shape.relationships.intersection(values):
            set_committed_value(obj, key, values[key])
        return _adopt(self.session, obj)

    def update(self, obj: object, **values: Any) -> None:
        """Write some attributes of an object's row, and set them on the object.

        A relationship named here is only set on the object: name its id column too.
        """
        shape = _shape(type(obj))
        written = {
            shape.column_names[k]: v for k, v in values.items() if k not in shape.relationships
        }
        if written:
            keys = tuple(sorted(written))
            self.execute(
                _update(shape.table, keys),
                {"row_id": obj.id, **{f"new_{k}": written[k] for k in keys}},  # type: ignore[attr-defined]
            )
        for key, value in values.items():
            set_committed_value(obj, key, value)

    def append(self, obj: object, key: str, *children: object) -> None:
        """Show rows just added (see `add`) in one of an object's collections."""
        set_committed_value(obj, key, [*getattr(obj, key), *children])

    def lock_case(self, case_id: int) -> None:
        """Lock one case's row (PostgreSQL): its writers queue, other cases' do not."""
        self.execute(_LOCK_CASE, {"id": case_id})

    def lock(self) -> None:
        """Take the writers' lock (the audit head row) and read the chain's head."""
        # Core statements, not ORM ones: nothing in the session needs syncing.
        row = self.execute(_LOCK_HEAD, {}).fetchone()
        if row is None:
            self.conn.execute(
                text("INSERT INTO audit_head (id, seq, digest) VALUES (1, 0, :g)"),
                {"g": audit.GENESIS},
            )
            row = (0, audit.GENESIS)
        self.seq, self.digest = int(row[0]), str(row[1])
        self.locked = True

    def record_event(
        self,
        *,
        actor: User | str | None,
        action: str,
        case_ref: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Add one event; it is numbered and chained when the change is written."""
        body = dict(payload or {})
        self._events.append(
            {
                "at": self.now,
                "actor": actor.email if isinstance(actor, User) else actor,
                "case_ref": case_ref,
                "action": action,
                "from_state": from_state,
                "to_state": to_state,
                "payload": body,
                "payload_digest": audit.payload_digest(body),
                "redacted": False,
            }
        )
        self.events += 1

    def _chain(self) -> None:
        """Number and chain the events from the head, which this unit holds."""
        for event in self._events:
            content = audit.EventContent(
                seq=self.seq + 1,
                at=event["at"],
                actor=event["actor"],
                case=event["case_ref"],
                action=event["action"],
                from_state=event["from_state"],
                to_state=event["to_state"],
                payload_digest=event["payload_digest"],
            )
            digest = audit.chain(self.digest, content.digest())
            event.update(seq=content.seq, prev_digest=self.digest, digest=digest)
            self.seq, self.digest = content.seq, digest

    def queue(self, messages: Iterable[Message]) -> int:
        """Queue notifications to send after the commit."""
        rows = [
            {
                "created_at": self.now,
                "kind": m.kind,
                "case_id": m.case_id,
                "to_email": m.to_email,
                "subject": m.subject,
                "body": m.body,
                "attempts": 0,
                "next_attempt_at": self.now,
            }
            for m in messages
        ]
        self._outbox.extend(rows)
        return len(rows)

    def finish(self) -> None:
        """Write the rows, then the events and messages; move the head; commit."""
        self.session.flush()
        if self._events and not self.locked:
            self.lock()  # late (PostgreSQL): every row this change locks is locked already
        if self._events:
            self._chain()
            self.execute_many(_insert_of(_EVENTS, tuple(self._events[0]), False), self._events)
            self.execute(_MOVE_HEAD, {"seq": self.seq, "digest": self.digest})
        if self._outbox:
            self.execute_many(_insert_of(_OUTBOX, tuple(self._outbox[0]), False), self._outbox)
        self.close()  # while the connection is still this unit's
        self.session.commit()


@contextmanager
def unit_of_work(
    now: datetime, *, case_id: int | None = None, late: bool = False
) -> Iterator[UnitOfWork]:
    """Run one change as one transaction; roll back on any exception.

    `case_id`: the change is to this case alone; `late`: the change needs no lock
    of its own (the sweep). Either lets PostgreSQL take the head only at the end.
    """
    session = db.session()
    if session.in_transaction():
        # End a read-only transaction left by the door (loading the user): the
        # first lock must come first, so later reads are fresh.
        session.commit()
    uow = UnitOfWork(session, now)
    try:
        if (case_id is not None or late) and session.get_bind().dialect.name == "postgresql":
            if case_id is not None:
                uow.lock_case(case_id)
        else:
            uow.lock()
        yield uow
        uow.finish()
    except BaseException:
        with suppress(Exception):  # the error that brought us here is the one to tell
            uow.close()
        session.rollback()
        raise


def head(session: Session) -> tuple[int, str]:
    """Return the chain's newest sequence number and digest."""
    row = driver.first(session.connection(), _HEAD_ROW, {})
    return (int(row[0]), str(row[1])) if row else (0, audit.GENESIS)
