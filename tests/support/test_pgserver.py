"""The throwaway PostgreSQL server used by `RESOLUTION_TEST_DATABASE=postgres` runs."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from .pgserver import PostgresServer


@pytest.mark.postgres
def test_starts_creates_a_database_and_stops_cleanly() -> None:
    server = PostgresServer().start()
    try:
        tmpdir = server.tmpdir
        assert tmpdir is not None and tmpdir.is_dir()
        url = server.create_database("pgserver_check")
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/pgserver_check"
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("select 1")).scalar_one() == 1
                assert conn.execute(text("select current_database()")).scalar_one() == (
                    "pgserver_check"
                )
        finally:
            engine.dispose()
    finally:
        server.stop()
    assert not tmpdir.exists()
    server.stop()  # a second stop does nothing


@pytest.mark.postgres
def test_rejects_a_database_name_that_is_not_plain() -> None:
    with PostgresServer() as server, pytest.raises(ValueError):
        server.create_database('x"; drop database postgres; --')
