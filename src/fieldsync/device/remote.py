"""First phase of a sync: learn which open conflicts a console resolved meanwhile."""

from __future__ import annotations

import sqlite3
from typing import Any

from fieldsync.device.client import Client
from fieldsync.device.rebase import Rebase, rebase
from fieldsync.device.report import SyncReport
from fieldsync.device.store import Store, among, loads

# Conflict ids asked about per request (the server takes at most 5,000).
ASK = 1000


def fetch_resolutions(store: Store, client: Client, report: SyncReport) -> None:
    """Apply the outcome of every local conflict that was resolved on the server."""
    ids = [r[0] for r in store.conn.execute("SELECT id FROM conflicts")]
    device_id = store.get_meta("device_id")
    resolved: list[dict[str, Any]] = []
    for start in range(0, len(ids), ASK):
        body = {"device_id": device_id, "ids": ids[start : start + ASK]}
        answers = client.call("POST", "/v1/sync/conflicts", body)["conflicts"]
        resolved += [a for a in answers if a["status"] == "resolved"]
    if not resolved:
        return
    with store.transaction() as conn:
        conflicts = _conflicts(conn, [a["id"] for a in resolved])
        settled = [(a, conflicts[a["id"]]) for a in resolved if a["id"] in conflicts]
        rebase(conn, [_onto_outcome(answer, row) for answer, row in settled])
        conn.executemany("DELETE FROM conflicts WHERE id = ?", [(a["id"],) for a, _ in settled])
    report.resolved_remotely += len(settled)


def _conflicts(conn: sqlite3.Connection, ids: list[str]) -> dict[str, sqlite3.Row]:
    """The open conflicts among `ids`, by id (not every open one: a device can hold
    thousands while the console resolved a few)."""
    rows = among(conn, "SELECT * FROM conflicts WHERE id IN ({marks})", ids)
    return {row["id"]: row for row in rows}


def _onto_outcome(answer: dict[str, Any], row: sqlite3.Row) -> Rebase:
    """An open conflict's record, as the device kept it, onto the server's outcome."""
    key = (row["entity"], row["record_id"])
    return (
        key,
        (row["rev"], loads(row["device"])),
        (answer["version"], answer["record"], answer["deleted"]),
    )
