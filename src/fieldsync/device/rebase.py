"""Bring a local record onto a new server state without losing edits made meanwhile.

Used when push results arrive and when a console resolved a conflict: if the row
was not edited since the values were sent (same `rev`), it simply becomes the
server state; otherwise the edits made since are laid over the server state and
stay pending.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fieldsync.conflicts import differing
from fieldsync.device.store import DELETED, SYNCED, UPDATED, dumps, loads


def rebase(
    conn: sqlite3.Connection,
    key: tuple[str, str],
    sent: tuple[int, Any],
    server: tuple[int, Any, bool],
) -> None:
    """Set row `key` onto `server` (version, values, deleted), given the `sent` (rev, values)."""
    row = conn.execute("SELECT * FROM records WHERE entity = ? AND id = ?", key).fetchone()
    version, values, deleted = server
    if row is None:
        if not deleted:  # created, then deleted here before the result came back
            _put(conn, key, version, values, None, DELETED)
        return
    rev, sent_values = sent
    if row["rev"] == rev:
        if deleted:
            conn.execute("DELETE FROM records WHERE entity = ? AND id = ?", key)
        else:
            _put(conn, key, version, values, values, SYNCED)
        return
    _put_edited(conn, key, row, sent_values, (version, values, deleted))


def _put_edited(
    conn: sqlite3.Connection,
    key: tuple[str, str],
    row: sqlite3.Row,
    sent_values: Any,
    server: tuple[int, Any, bool],
) -> None:
    version, values, deleted = server
    local = loads(row["data"])
    if local is None:
        if deleted:
            conn.execute("DELETE FROM records WHERE entity = ? AND id = ?", key)
        else:
            _put(conn, key, version, values, None, DELETED)
        return
    edits = {f: local.get(f) for f in differing(sent_values or {}, local)}
    data = {**(values or {}), **edits}
    state = UPDATED if deleted or differing(values, data) else SYNCED
    _put(conn, key, version, values, data, state)


def _put(
    conn: sqlite3.Connection,
    key: tuple[str, str],
    version: int,
    base: Any,
    data: Any,
    state: str,
) -> None:
    conn.execute(
        "INSERT INTO records (entity, id, base_version, base, data, state) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity, id) DO UPDATE SET "
        "base_version = excluded.base_version, base = excluded.base, data = excluded.data, "
        "state = excluded.state, error = NULL, conflict_id = NULL, server_version = NULL, "
        "server_data = NULL, server_deleted = NULL",
        (*key, version, dumps(base), dumps(data), state),
    )
