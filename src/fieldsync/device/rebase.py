"""Bring local records onto new server states without losing edits made meanwhile.

Used when push results arrive and when a console resolved a conflict: if a row
was not edited since its values were sent (same `rev`), it simply becomes the
server state; otherwise the edits made since are laid over the server state and
stay pending. A whole batch of results is read in a few queries and written with
one `executemany` per kind of write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from fieldsync.conflicts import differing
from fieldsync.device.store import DELETED, SYNCED, UPDATED, dumps, loads

Key = tuple[str, str]
Sent = tuple[int, Any]  # the row's rev and values when they were sent
Server = tuple[int, Any, bool]  # the server's version, values and deleted flag
Rebase = tuple[Key, Sent, Server]
NextRow = tuple[int, Any, Any, str]  # base version, base, data, state

PUT = (
    "INSERT INTO records (entity, id, base_version, base, data, state) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity, id) DO UPDATE SET "
    "base_version = excluded.base_version, base = excluded.base, data = excluded.data, "
    "state = excluded.state, error = NULL, conflict_id = NULL, server_version = NULL, "
    "server_data = NULL, server_deleted = NULL"
)
REMOVE = "DELETE FROM records WHERE entity = ? AND id = ?"
CHUNK = 500  # ids per IN (…) list, well under SQLite's parameter limit


def rebase(conn: sqlite3.Connection, items: Sequence[Rebase]) -> None:
    """Set each row `key` onto its `server` state, given what was `sent` of it."""
    rows = _rows(conn, [key for key, _, _ in items])
    puts, removals = [], []
    for key, sent, server in items:
        step = _next_row(rows.get(key), sent, server)
        if step is None:
            removals.append(key)
        else:
            version, base, data, state = step
            stored = dumps(base)  # a synced row's data is its base: encoded once
            puts.append((*key, version, stored, stored if data is base else dumps(data), state))
    conn.executemany(REMOVE, removals)
    conn.executemany(PUT, puts)


def _rows(conn: sqlite3.Connection, keys: list[Key]) -> dict[Key, tuple[int, str | None]]:
    """The rev and data of the rows among `keys` that exist."""
    by_entity: dict[str, list[str]] = {}
    for entity, record_id in keys:
        by_entity.setdefault(entity, []).append(record_id)
    found: dict[Key, tuple[int, str | None]] = {}
    for entity, ids in by_entity.items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, rev, data FROM records WHERE entity = ? AND id IN ({marks})"
            for record_id, rev, data in conn.execute(query, (entity, *chunk)):
                found[(entity, record_id)] = (rev, data)
    return found


def _next_row(row: tuple[int, str | None] | None, sent: Sent, server: Server) -> NextRow | None:
    """What the row becomes (None: removed) once the server state arrives."""
    version, values, deleted = server
    gone = None if deleted else (version, values, None, DELETED)
    if row is None:  # created, then deleted here before the result came back
        return gone
    rev, data = row
    sent_rev, sent_values = sent
    if rev == sent_rev:
        return None if deleted else (version, values, values, SYNCED)
    local = loads(data)
    if local is None:  # deleted here while the change was on its way
        return gone
    edits = {f: local.get(f) for f in differing(sent_values or {}, local)}
    merged = {**(values or {}), **edits}
    state = UPDATED if deleted or differing(values, merged) else SYNCED
    return version, values, merged, state
