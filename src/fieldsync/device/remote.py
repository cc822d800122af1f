"""First phase of a sync: learn which open conflicts a console resolved meanwhile."""

from __future__ import annotations

from fieldsync.device.client import Client
from fieldsync.device.rebase import rebase
from fieldsync.device.report import SyncReport
from fieldsync.device.store import Store, loads


def fetch_resolutions(store: Store, client: Client, report: SyncReport) -> None:
    """Apply the outcome of every local conflict that was resolved on the server."""
    ids = [r[0] for r in store.conn.execute("SELECT id FROM conflicts")]
    if not ids:
        return
    body = {"device_id": store.get_meta("device_id"), "ids": ids}
    answers = client.call("POST", "/v1/sync/conflicts", body)["conflicts"]
    resolved = [a for a in answers if a["status"] == "resolved"]
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
