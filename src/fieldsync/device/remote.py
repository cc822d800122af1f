"""First phase of a sync: learn which open conflicts a console resolved (or met again)."""

from __future__ import annotations

import sqlite3

from fieldsync.conflicts import ConflictState, Kind
from fieldsync.device.client import Client
from fieldsync.device.rebase import SETTLE_REMOVED, Resolved, rebase_resolved
from fieldsync.device.report import SyncReport
from fieldsync.device.store import Store, among, dumps, loads
from fieldsync.wire import ConflictStatus, ConflictStatusOut

# Conflict ids asked about per request (the server takes at most 5,000).
ASK = 1000


def fetch_resolutions(store: Store, client: Client, report: SyncReport) -> None:
    """Apply the outcome of every local conflict that was resolved on the server, and
    follow those the server met again (a console's choice came after the record changed)."""
    ids = [r[0] for r in store.conn.execute("SELECT id FROM conflicts")]
    device_id = store.get_meta("device_id")
    answers: list[ConflictStatus] = []
    for start in range(0, len(ids), ASK):
        body = {"device_id": device_id, "ids": ids[start : start + ASK]}
        answer: ConflictStatusOut = client.call("POST", "/v1/sync/conflicts", body)
        answers += [a for a in answer["conflicts"] if a["status"] != ConflictState.OPEN]
    if not answers:
        return
    with store.transaction() as conn:
        conflicts = _conflicts(conn, [a["id"] for a in answers])
        known = [(a, conflicts[a["id"]]) for a in answers if a["id"] in conflicts]
        # Superseded with nothing left open: the server's record is the outcome.
        settled = [(a, row) for a, row in known if not a.get("superseded_by")]
        outcomes = [(a, row) for a, row in settled if not _out_of_scope(a)]
        rebase_resolved(conn, [_onto_outcome(answer, row) for answer, row in outcomes])
        _left_scope(conn, [row for a, row in settled if _out_of_scope(a)])
        conn.executemany("DELETE FROM conflicts WHERE id = ?", [(a["id"],) for a, _ in settled])
        _met_again(conn, [(a, row) for a, row in known if a.get("superseded_by")])
    report.resolved_remotely += len(settled)


def _out_of_scope(answer: ConflictStatus) -> bool:
    """True when the record left the caller's scope: the server says nothing of it (not
    even what the resolution wrote)."""
    return answer["version"] is None and answer.get("result") is None


def _left_scope(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> None:
    """Resolved conflicts whose record left the scope. A record not edited since the
    conflict leaves with the scope (the resolution decided its change). One edited
    meanwhile stays as the device keeps it, unsynced beside the deletion the pull brings,
    as any record that leaves the scope with an unsynced edit (its push is refused; Sync
    errors offers retry once it is back, or discard)."""
    keys = [(row["entity"], row["record_id"]) for row in rows]
    conn.executemany(
        SETTLE_REMOVED, [(*key, row["rev"]) for key, row in zip(keys, rows, strict=True)]
    )
    conn.executemany("UPDATE records SET conflict_id = NULL WHERE entity = ? AND id = ?", keys)


def _met_again(conn: sqlite3.Connection, known: list[tuple[ConflictStatus, sqlite3.Row]]) -> None:
    """Each conflict becomes the one that took its place: the same D facing the newest
    server version, undecided (a choice made here on the older version is not applied
    to one the user has not seen). A record that left the scope shows no newer version:
    the conflict keeps the one it met, and the pull's deletion is kept beside it, as for
    any record that leaves the scope with an unsynced edit."""
    for answer, row in known:
        if answer["version"] is None:
            _renamed(conn, answer, row)
            continue
        server = dumps(answer["record"])
        new_id, version, deleted = answer["superseded_by"], answer["version"], answer["deleted"]
        conn.execute(
            "UPDATE conflicts SET id = ?, kind = ?, server = ?, server_deleted = ?, "
            "server_version = ?, choice = NULL, picks = NULL WHERE id = ?",
            (new_id, _kind(row["device"], deleted), server, deleted, version, row["id"]),
        )
        conn.execute(
            "UPDATE records SET conflict_id = ?, server_version = ?, server_data = ?, "
            "server_deleted = ? WHERE entity = ? AND id = ?",
            (new_id, version, server, deleted, row["entity"], row["record_id"]),
        )


def _renamed(conn: sqlite3.Connection, answer: ConflictStatus, row: sqlite3.Row) -> None:
    """A conflict under the id of the one that took its place, undecided, facing the
    server version it met."""
    new_id = answer["superseded_by"]
    conn.execute(
        "UPDATE conflicts SET id = ?, choice = NULL, picks = NULL WHERE id = ?", (new_id, row["id"])
    )
    conn.execute(
        "UPDATE records SET conflict_id = ? WHERE entity = ? AND id = ?",
        (new_id, row["entity"], row["record_id"]),
    )


def _kind(device: str | None, server_deleted: bool) -> str:
    """What met what, as the push names it: the device's change, the server's state."""
    if device is None:
        return Kind.DELETE_UPDATE.value
    return (Kind.UPDATE_DELETE if server_deleted else Kind.UPDATE_UPDATE).value


def _conflicts(conn: sqlite3.Connection, ids: list[str]) -> dict[str, sqlite3.Row]:
    """The open conflicts among `ids`, by id (not every open one: a device can hold
    thousands while the console resolved a few)."""
    rows = among(conn, "SELECT * FROM conflicts WHERE id IN ({marks})", ids)
    return {row["id"]: row for row in rows}


def _onto_outcome(answer: ConflictStatus, row: sqlite3.Row) -> Resolved:
    """An open conflict's record, as the device kept it, onto the server's outcome: the
    record as the resolution left it (as it is now, when the server does not say) and
    as it is now."""
    key = (row["entity"], row["record_id"])
    newest = (answer["version"], answer["record"], answer["deleted"])
    result = answer.get("result")
    written = newest if result is None else (result["version"], result["record"], result["deleted"])
    return key, (row["rev"], loads(row["device"])), written, newest
