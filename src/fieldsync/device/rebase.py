"""Bring local records onto new server states without losing edits made meanwhile.

Used when push results arrive and when a console resolved a conflict: if a row
was not edited since its values were sent (same `rev`), it simply becomes the
server state; otherwise the edits made since are laid over the server state and
stay pending. The rows not edited meanwhile (nearly all) are settled by one
`executemany` that names their `rev`, without reading them first; only when some
row did not match are the batch's rows read, and the edited ones rebased.

A resolved conflict names two server states: the one its resolution wrote and the
newest. Edits made while it was open are based on the first, so that a server change
made after the resolution meets them under the entity's policy; the newest is kept
beside them (a discard falls back to it), and a row left with nothing to send takes it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from fieldsync.conflicts import differing
from fieldsync.device.base import stored
from fieldsync.device.store import DELETED, SYNCED, UPDATED, among, dumps, loads

Key = tuple[str, str]
Sent = tuple[int, Any]  # the row's rev and values when they were sent
Server = tuple[int | None, Any, bool]  # the server's version (None: none), values, deleted
Rebase = tuple[Key, Sent, Server]
# A resolved conflict's row: what was sent of it, the state the resolution wrote, the newest.
Resolved = tuple[Key, Sent, Server, Server]
NextRow = tuple[int | None, Any, Any, str]  # base version, base, data, state

PUT = (
    "INSERT INTO records (entity, id, base_version, base, data, state) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity, id) DO UPDATE SET "
    "base_version = excluded.base_version, base = excluded.base, data = excluded.data, "
    "state = excluded.state, error = NULL, conflict_id = NULL, server_version = NULL, "
    "server_data = NULL, server_deleted = NULL"
)
REMOVE = "DELETE FROM records WHERE entity = ? AND id = ?"
# A row not edited since it was sent (still at the `rev` it had then) simply takes the
# server's state.
SETTLE = (
    "UPDATE records SET base_version = ?, base = NULL, data = ?, state = 'synced', error = NULL, "
    "conflict_id = NULL, server_version = NULL, server_data = NULL, server_deleted = NULL "
    "WHERE entity = ? AND id = ? AND rev = ?"
)
SETTLE_REMOVED = "DELETE FROM records WHERE entity = ? AND id = ? AND rev = ?"
BESIDE = (
    "UPDATE records SET server_version = ?, server_data = ?, server_deleted = ? "
    "WHERE entity = ? AND id = ?"
)


def rebase(conn: sqlite3.Connection, items: Sequence[Rebase]) -> None:
    """Set each row `key` onto its `server` state, given what was `sent` of it."""
    if _settle_unchanged(conn, items) < len(items):
        _rebase_changed(conn, items)


def rebase_resolved(conn: sqlite3.Connection, items: Sequence[Resolved]) -> None:
    """Set each row `key` of a resolved conflict onto the server: a row not edited since
    `sent` takes the newest state; edits made since are based on the resolution's."""
    newest = [(key, sent, last) for key, sent, _, last in items]
    if _settle_unchanged(conn, newest) == len(items):
        return
    rows = _rows(conn, [key for key, _, _, _ in items])
    steps, besides = [], []
    for key, sent, resolution, last in items:
        row = rows.get(key)
        if row is not None and row[0] == sent[0]:
            continue  # settled already
        step = _next_row(row, sent, resolution)
        if step is None or step[3] == SYNCED:  # nothing left to send
            step = None if last[2] else (last[0], None, last[1], SYNCED)
        elif last[0] != resolution[0]:
            besides.append((last[0], dumps(last[1]), last[2], *key))
        steps.append((key, step))
    _write(conn, steps)
    conn.executemany(BESIDE, besides)


def _settle_unchanged(conn: sqlite3.Connection, items: Sequence[Rebase]) -> int:
    """Make each row still at the `rev` it was sent with the server state; how many were."""
    removals = [(*key, sent[0]) for key, sent, server in items if server[2]]
    settled = []
    for (entity, record_id), (rev, _), (version, values, deleted) in items:
        if not deleted:
            settled.append((version, dumps(values), entity, record_id, rev))
    done = conn.executemany(SETTLE_REMOVED, removals).rowcount if removals else 0
    return done + (conn.executemany(SETTLE, settled).rowcount if settled else 0)


def _rebase_changed(conn: sqlite3.Connection, items: Sequence[Rebase]) -> None:
    """Rebase the rows edited (or deleted) here since they were sent."""
    rows = _rows(conn, [key for key, _, _ in items])
    steps = []
    for key, sent, server in items:
        row = rows.get(key)
        if row is not None and row[0] == sent[0]:
            continue  # settled already
        steps.append((key, _next_row(row, sent, server)))
    _write(conn, steps)


def _write(conn: sqlite3.Connection, steps: list[tuple[Key, NextRow | None]]) -> None:
    """Write what each row `key` becomes: put as its step, or removed (None)."""
    conn.executemany(REMOVE, [key for key, step in steps if step is None])
    puts = [(key, step) for key, step in steps if step is not None]
    conn.executemany(
        PUT,
        [
            (*key, version, stored(base, state), dumps(data), state)
            for key, (version, base, data, state) in puts
        ],
    )


def _rows(conn: sqlite3.Connection, keys: list[Key]) -> dict[Key, tuple[int, str | None]]:
    """The rev and data of the rows among `keys` that exist."""
    by_entity: dict[str, list[str]] = {}
    for entity, record_id in keys:
        by_entity.setdefault(entity, []).append(record_id)
    found: dict[Key, tuple[int, str | None]] = {}
    query = "SELECT id, rev, data FROM records WHERE entity = ? AND id IN ({marks})"
    for entity, ids in by_entity.items():
        for record_id, rev, data in among(conn, query, ids, entity):
            found[(entity, record_id)] = (rev, data)
    return found


def _next_row(row: tuple[int, str | None] | None, sent: Sent, server: Server) -> NextRow | None:
    """What a row edited here since it was sent becomes (None: removed) once the server
    state arrives: the edits made since are laid over the server state."""
    version, values, deleted = server
    gone = None if deleted else (version, values, None, DELETED)
    if row is None:  # created, then deleted here before the result came back
        return gone
    local = loads(row[1])
    if local is None:  # deleted here while the change was on its way
        return gone
    edits = {f: local.get(f) for f in differing(sent[1] or {}, local)}
    merged = {**(values or {}), **edits}
    state = UPDATED if deleted or differing(values, merged) else SYNCED
    return version, values, merged, state
