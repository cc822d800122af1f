"""Queued writes (`bulk.QueuedWrites`): rows read back as written, and a failure, wherever
it comes, leaves nothing written and the server's next transaction runs as usual."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from conftest import BACKENDS
from fieldsync.server import bulk, journal
from fieldsync.server.db import Database
from fieldsync.server.schema import journal as journal_table


def entry(name: str) -> dict[str, Any]:
    """A journal row (the table with no foreign keys), the city telling it apart."""
    return {
        "id": str(uuid.uuid4()), "entity": "account", "record_id": str(uuid.uuid4()),
        "change_id": None, "kind": "update_update", "policy": "server_wins",
        "detection": "record", "status": "resolved", "outcome": "server_wins",
        "fields": ["city"], "base": None, "base_version": 1,
        "device": {"city": name}, "server": {"city": "Office"},
        "server_deleted": False, "server_version": 2,
        "result": None, "result_version": None,
        "user_id": "u", "device_id": "d", "created_at": "2026-11-27",
        "resolved_at": None, "resolved_by": None, "restored_at": None, "restored_by": None,
    }  # fmt: skip


def write(
    db: Database, rows: list[dict[str, Any]], then: Callable[[sa.Connection], object] | None = None
) -> None:
    """Queue journal rows in one write transaction, then call `then`."""
    with db.write() as conn, bulk.QueuedWrites(conn) as writes:
        for row in rows:
            writes.queue_insert(journal_table, row)
        if then is not None:
            then(conn)


def cities(db: Database) -> list[str]:
    with db.read() as conn:
        return sorted(e.row["device"]["city"] for e in _all(conn))


def _all(conn: sa.Connection) -> list[journal.JournalEntry]:
    rows = conn.execute(sa.select(journal_table)).mappings()
    return [journal.JournalEntry.of(row) for row in rows]


def test_queued_rows_are_written_at_the_end_in_order_and_read_back_as_written(
    backend_db: Database,
) -> None:
    first, second = entry("Kosice"), entry("Zilina")
    with backend_db.write() as conn, bulk.QueuedWrites(conn) as writes:
        writes.queue_insert(journal_table, first)
        writes.queue_insert(journal_table, second)
        writes.queue_update(journal_table, ("id",), {"status": "superseded", "id": first["id"]})
        assert _all(writes.conn) == []  # queued, not written yet
    with backend_db.read() as conn:
        stored = {e.id: e.row for e in _all(conn)}
    assert stored[first["id"]]["status"] == "superseded"
    assert stored[second["id"]] == second


ODD = 'a "quoted" \\ back\\slash, {braces}, [brackets], a comma, ümlaut, 🙂\nnew line'
SHORT_ODD = 'a"b\\c,{d}[ü🙂]\n'  # fits a column of 36


def test_updated_rows_read_back_every_kind_of_value_as_written(backend_db: Database) -> None:
    rows = [entry("Kosice"), entry("Zilina"), entry("Presov")]
    changes = [
        {"result": {"note": ODD, "list": [1, None, "x"]}, "base_version": 2**62,
         "server_deleted": True, "resolved_by": SHORT_ODD, "id": rows[0]["id"]},
        {"result": None, "base_version": None, "server_deleted": False, "resolved_by": None,
         "id": rows[1]["id"]},
        {"result": {}, "base_version": 0, "server_deleted": False, "resolved_by": "",
         "id": rows[2]["id"]},
    ]  # fmt: skip
    nothing = [{"base": None, "resolved_at": None, "id": row["id"]} for row in rows]  # all NULL
    with backend_db.write() as conn:
        bulk.insert(conn, journal_table, rows)
        bulk.update(conn, journal_table, ("id",), changes)
        bulk.update(conn, journal_table, ("id",), nothing)
    with backend_db.read() as conn:  # the rows as stored
        stored = {r["id"]: dict(r) for r in conn.execute(sa.select(journal_table)).mappings()}
    for row, change, cleared in zip(rows, changes, nothing, strict=True):
        assert stored[row["id"]] == {**row, **change, **cleared}


@pytest.mark.parametrize("backend_db", [b for b in BACKENDS if b != "sqlite"], indirect=True)
def test_an_update_with_a_value_too_long_for_its_column_is_refused(
    backend_db: Database,
) -> None:  # (SQLite keeps strings of any length)
    row = entry("Kosice")
    with backend_db.write() as conn, bulk.QueuedWrites(conn) as writes:
        writes.queue_insert(journal_table, row)
    too_long = {"resolved_by": "x" * 37, "id": row["id"]}
    refused = pytest.raises(DBAPIError, match="too long")
    with refused, backend_db.write() as conn, bulk.QueuedWrites(conn) as writes:
        writes.queue_update(journal_table, ("id",), too_long)
    with backend_db.read() as conn:
        assert [e.row["resolved_by"] for e in _all(conn)] == [None]


def test_a_failed_write_raises_and_its_transaction_leaves_nothing(backend_db: Database) -> None:
    kept = entry("Kept")
    write(backend_db, [kept])
    with pytest.raises(IntegrityError):
        write(backend_db, [entry("Lost"), kept, entry("Never")])  # the same id again
    assert cities(backend_db) == ["Kept"]
    write(backend_db, [entry("Next")])  # the next one runs as usual
    assert cities(backend_db) == ["Kept", "Next"]


def test_an_error_before_the_writes_are_sent_leaves_nothing(backend_db: Database) -> None:
    with pytest.raises(ZeroDivisionError):
        write(backend_db, [entry("Lost")], then=lambda _conn: 1 / 0)
    assert cities(backend_db) == []
    write(backend_db, [entry("Next")])
    assert cities(backend_db) == ["Next"]
