"""First phase of a sync: learn which open conflicts a console resolved meanwhile."""

from __future__ import annotations

from typing import Any

from fieldsync.device.client import Client
from fieldsync.device.rebase import rebase
from fieldsync.device.report import SyncReport
from fieldsync.device.store import Store, loads

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
        for answer in resolved:
            row = conn.execute("SELECT * FROM conflicts WHERE id = ?", (answer["id"],)).fetchone()
            if row is None:
                continue
            key = (row["entity"], row["record_id"])
            server = (answer["version"], answer["record"], answer["deleted"])
            rebase(conn, [(key, (row["rev"], loads(row["device"])), server)])
            conn.execute("DELETE FROM conflicts WHERE id = ?", (answer["id"],))
            report.resolved_remotely += 1
