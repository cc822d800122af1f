"""Offline edits: create, update and delete records in the local store.

Every edit bumps the row's `rev` (so a sync in flight can tell it apart) and takes
the next `seq` (so changes are pushed in the order they were made). Editing a
rejected record clears its error: the edit is the fix, retried at the next sync.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fieldsync import ids
from fieldsync.conflicts import differing
from fieldsync.device.base import KEEP_BASE, base_of
from fieldsync.device.store import (
    CREATED,
    DELETED,
    SYNCED,
    UPDATED,
    Store,
    dumps,
    loads,
)
from fieldsync.errors import Missing, ValidationFailed
from fieldsync.project import Entity
from fieldsync.validation import check_required, check_values, lookups, normalize


def create(store: Store, entity: Entity, values: dict[str, Any]) -> str:
    """Create a record on the device; returns its new id."""
    record_id = ids.time_ordered()
    data = normalize(entity, values)
    _check(store, entity, values, data)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO records (entity, id, data, state, rev, seq) VALUES (?, ?, ?, ?, 1, ?)",
            (entity.name, record_id, dumps(data), CREATED, store.next_seq(conn)),
        )
    return record_id


def update(store: Store, entity: Entity, record_id: str, values: dict[str, Any]) -> None:
    """Change some fields of a record on the device."""
    with store.transaction() as conn:
        row = _live_row(conn, entity, record_id)
        data = normalize(entity, {**loads(row["data"]), **values})
        _check(store, entity, values, data)
        state = row["state"]
        if state in (SYNCED, UPDATED) and not row["conflict_id"]:
            state = UPDATED if differing(loads(base_of(row)), data) else SYNCED
        _write(store, conn, row, data, state)


def delete(store: Store, entity: Entity, record_id: str) -> None:
    """Delete a record on the device (a record never synced simply disappears)."""
    with store.transaction() as conn:
        row = _live_row(conn, entity, record_id)
        if row["state"] == CREATED:
            conn.execute(
                "DELETE FROM records WHERE entity = ? AND id = ?", (entity.name, record_id)
            )
            return
        _write(store, conn, row, None, DELETED)


def _live_row(conn: sqlite3.Connection, entity: Entity, record_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM records WHERE entity = ? AND id = ?", (entity.name, record_id)
    ).fetchone()
    if row is None or row["data"] is None:
        raise Missing(f"no {entity.name} {record_id} on this device", code="not_found")
    return row


def _write(store: Store, conn: sqlite3.Connection, row: sqlite3.Row, data: Any, state: str) -> None:
    conn.execute(
        f"UPDATE records SET {KEEP_BASE}, data = ?, state = ?, rev = rev + 1, seq = ?, "
        "error = NULL WHERE entity = ? AND id = ?",
        (dumps(data), state, store.next_seq(conn), row["entity"], row["id"]),
    )


def _check(store: Store, entity: Entity, values: dict[str, Any], data: dict[str, Any]) -> None:
    """Refuse what the server would reject, so the user hears of it at once."""
    check_values(entity, values)
    check_required(entity, data)
    for name, target, target_id in lookups(entity, values):
        parent = store.row(target, target_id)
        if parent is None or parent["data"] is None:
            raise ValidationFailed(
                "missing_parent", f"{entity.name}.{name}: no {target} {target_id} on this device"
            )
