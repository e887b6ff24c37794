"""How a request's database transaction ends when the request only read.

Flask-SQLAlchemy removes the session after each request, which rolls back whatever is
still open. A request that only read ends here in COMMIT instead: to the database the
two are the same for a transaction that wrote nothing, but psycopg forgets every
statement it has prepared on the connection at a ROLLBACK (it cannot tell what the
rollback undid), so without this each request would have PostgreSQL plan its
statements afresh. A request that failed, that holds unsaved objects, or whose
transaction sent anything but SELECT statements keeps the rollback: nothing is ever
saved by this.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection

from .extensions import db

_WROTE = "resolution.wrote"


def _began(connection: Connection) -> None:
    connection.info[_WROTE] = False


def reads_only(statement: str) -> bool:
    """Tell whether an SQL statement only reads: a SELECT (a row lock taken by a SELECT
    writes nothing either)."""
    return statement.lstrip()[:6].upper() == "SELECT"


def _sent(connection: Connection, cursor: Any, statement: str, *args: Any) -> None:
    if not reads_only(statement):
        connection.info[_WROTE] = True


def end_read(exc: BaseException | None) -> None:
    """Commit the request's transaction if it only read; leave anything else alone."""
    if exc is not None or not db.session.registry.has():
        return
    session = db.session()
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active:
        return
    if session.new or session.dirty or session.deleted:
        return
    if session.connection().info.get(_WROTE, True):
        return
    session.commit()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    event.listen(engine, "begin", _began)
    event.listen(engine, "after_cursor_execute", _sent)
    app.teardown_request(end_read)
