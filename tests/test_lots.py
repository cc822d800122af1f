"""Writes sent in lots (`bulk.Lane`): a failure, wherever it comes, leaves nothing written
and the server's next transaction runs as usual."""

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
        "device": {"city": name, journal.LACKS: []}, "server": {"city": "Office"},
        "server_deleted": False, "server_version": 2,
        "result": None, "user_id": "u", "device_id": "d", "created_at": "2026-11-27",
        "resolved_at": None, "resolved_by": None, "restored_at": None, "restored_by": None,
    }  # fmt: skip


def write_lots(
    db: Database,
    lots: list[list[dict[str, Any]]],
    then: Callable[[sa.Connection], object] | None = None,
) -> None:
    """Send each lot of journal rows in one write transaction, then call `then`."""
    with db.write() as conn, bulk.Lane(conn) as lane:
        for lot in lots:
            lane.insert(journal_table, lot)
        if then is not None:
            then(conn)


def cities(db: Database) -> list[str]:
    with db.read() as conn:
        return sorted(e.row["device"]["city"] for e in _all(conn))


def _all(conn: sa.Connection) -> list[journal.Entry]:
    rows = conn.execute(sa.select(journal_table)).mappings()
    return [journal.Entry.of(row) for row in rows]


def test_lots_land_in_order_and_read_back_as_written(backend_db: Database) -> None:
    first, second = entry("Kosice"), entry("Zilina")
    with backend_db.write() as conn, bulk.Lane(conn) as lane:
        lane.insert(journal_table, [first])
        lane.insert(journal_table, [second])
        lane.update(journal_table, ("id",), [{"id": first["id"], "status": "superseded"}])
        assert [e.id for e in _all(lane.conn)] != []  # a read waits for what was sent
    with backend_db.read() as conn:
        stored = {e.id: e.row for e in _all(conn)}
    assert stored[first["id"]]["status"] == "superseded"
    assert stored[second["id"]] == {**second, "device": {"city": "Zilina"}}  # D read whole


ODD = 'a "quoted" \\ back\\slash, {braces}, [brackets], a comma, ümlaut, 🙂\nnew line'
SHORT_ODD = 'a"b\\c,{d}[ü🙂]\n'  # fits a column of 36


def test_an_updated_lot_reads_back_every_kind_of_value_as_written(backend_db: Database) -> None:
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
    with backend_db.write() as conn, bulk.Lane(conn) as lane:
        lane.insert(journal_table, rows)
        lane.update(journal_table, ("id",), changes)
        lane.update(journal_table, ("id",), nothing)
    with backend_db.read() as conn:  # the rows as stored
        stored = {r["id"]: dict(r) for r in conn.execute(sa.select(journal_table)).mappings()}
    for row, change, cleared in zip(rows, changes, nothing, strict=True):
        assert stored[row["id"]] == {**row, **change, **cleared}


@pytest.mark.parametrize("backend_db", [b for b in BACKENDS if b != "sqlite"], indirect=True)
def test_an_updated_lot_with_a_value_too_long_for_its_column_is_refused(
    backend_db: Database,
) -> None:  # (SQLite keeps strings of any length)
    row = entry("Kosice")
    with backend_db.write() as conn, bulk.Lane(conn) as lane:
        lane.insert(journal_table, [row])
    too_long = {"resolved_by": "x" * 37, "id": row["id"]}
    refused = pytest.raises(DBAPIError, match="too long")
    with refused, backend_db.write() as conn, bulk.Lane(conn) as lane:
        lane.update(journal_table, ("id",), [too_long])
    with backend_db.read() as conn:
        assert [e.row["resolved_by"] for e in _all(conn)] == [None]


def test_a_lot_sent_before_the_transaction_ran_a_statement_is_written_at_once(
    backend_db: Database,
) -> None:
    """Not pipelined (it would commit on its own): an ordinary statement, as with a libpq
    that has no pipelines."""
    written = entry("Kosice")

    def write_then_fail() -> None:
        with backend_db.engine.begin() as conn:
            with bulk.Lane(conn) as lane:
                lane.insert(journal_table, [written])
            assert [e.id for e in _all(conn)] == [written["id"]]
            _ = 1 / 0  # and it is part of the transaction: rolled back with it

    with pytest.raises(ZeroDivisionError):
        write_then_fail()
    assert cities(backend_db) == []


def test_a_lot_that_fails_raises_and_its_transaction_leaves_nothing(backend_db: Database) -> None:
    kept = entry("Kept")
    with backend_db.write() as conn, bulk.Lane(conn) as lane:
        lane.insert(journal_table, [kept])
    lots = [[entry("Lost")], [kept], [entry("Never")]]  # the same id again, then one more
    with pytest.raises(IntegrityError):
        write_lots(backend_db, lots)
    assert cities(backend_db) == ["Kept"]
    with backend_db.write() as conn, bulk.Lane(conn) as lane:  # the next one runs as usual
        lane.insert(journal_table, [entry("Next")])
    assert cities(backend_db) == ["Kept", "Next"]


def test_an_error_while_a_lot_is_on_its_way_leaves_nothing(backend_db: Database) -> None:
    with pytest.raises(ZeroDivisionError):  # the caller fails while the lot is written
        write_lots(backend_db, [[entry("Lost")]], then=lambda _conn: 1 / 0)
    assert cities(backend_db) == []
    with backend_db.write() as conn, bulk.Lane(conn) as lane:
        lane.insert(journal_table, [entry("Next")])
    assert cities(backend_db) == ["Next"]


# SQLite runs in the server's process: it has no connection to lose.
@pytest.mark.parametrize("backend_db", [b for b in BACKENDS if b != "sqlite"], indirect=True)
def test_a_connection_lost_with_a_lot_on_its_way_is_replaced(backend_db: Database) -> None:
    def lose(conn: sa.Connection) -> None:
        with backend_db.engine.connect() as other:
            pid = conn.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()

    with pytest.raises(DBAPIError):
        write_lots(backend_db, [[entry("Lost")]], then=lose)
    assert cities(backend_db) == []
    with backend_db.write() as conn, bulk.Lane(conn) as lane:
        lane.insert(journal_table, [entry("Next")])
    assert cities(backend_db) == ["Next"]
