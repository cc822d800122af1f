"""The server's connections to PostgreSQL: a busy process keeps those it opened."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import drop_pg_database, fresh_pg_database, pg_url
from fieldsync.server.db import CONNECTIONS, Database


@pytest.fixture
def pg_db(pg_admin: sa.Engine, pg_template: str) -> Iterator[Database]:
    name = fresh_pg_database(pg_admin, pg_template)
    db = Database(pg_url(name))
    yield db
    db.dispose()
    drop_pg_database(pg_admin, name)


def _burst(db: Database, size: int) -> None:
    """`size` read transactions open at once, then all closed."""
    together = threading.Barrier(size)

    def read() -> None:
        with db.read() as conn:
            conn.execute(sa.text("SELECT 1"))
            together.wait(timeout=30)

    threads = [threading.Thread(target=read) for _ in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_the_connections_a_burst_opened_serve_the_next_burst(pg_db: Database) -> None:
    opened: list[object] = []

    def note(*_: Any) -> None:
        opened.append(None)

    sa.event.listen(pg_db.engine, "connect", note)
    _burst(pg_db, CONNECTIONS)
    first = len(opened)
    _burst(pg_db, CONNECTIONS)
    assert first == CONNECTIONS
    assert len(opened) == first
