"""The first screen of a first download: what the worker needs now, before the rest.

On a first download (no cursor, no full download under way) the device asks for
`GET /v1/sync/pull?first=true`, the user's own records and today's and upcoming ones
(docs/protocol.md), beside the download's first page, and stores them before that
page as synced rows not yet seen, so that its lists show them at once. The download
from the empty cursor brings every record again (one the device holds at the same
version is marked seen, not rewritten), moves the cursor, and at its end drops the
synced rows still unseen, as a full download after a 410 does: a first-screen record
deleted, or gone out of the user's scope, in between. A crash between the two resumes
with that download; the first screen is not asked for again.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from datetime import date

from fieldsync import failpoints
from fieldsync.device.client import Client
from fieldsync.device.report import Progress, SyncReport
from fieldsync.device.store import Store, dumps
from fieldsync.wire import PullOut

# A screen's worth many times over; compressed, a fraction of a second at 2 Mbit/s.
LIMIT, MAX_BYTES = 2000, 1024 * 1024
META = "first_screen"  # stored: the download after it drops the rows it did not bring

# A new row only: a row there already (a record this device created and pushed) is
# newer or the same, and the full download that follows brings the server's state.
INSERT = (
    "INSERT INTO records (entity, id, base_version, base, data, state, seen) "
    "VALUES (?, ?, ?, NULL, ?, 'synced', 0) ON CONFLICT (entity, id) DO NOTHING"
)


def wanted(store: Store) -> bool:
    """True on a first download: no cursor yet, no first screen stored, no full
    download under way."""
    if store.get_meta("cursor", "") or store.get_meta(META, False):
        return False
    return not store.get_meta("resync", False)


def ask(downloads: Executor, client: Client, store: Store) -> Future[tuple[PullOut, int]]:
    """Ask for the first screen."""
    query = {
        "limit": LIMIT,
        "max_bytes": MAX_BYTES,
        "first": "true",
        "today": date.today().isoformat(),  # the worker's day, not the server's
        "device_id": store.get_meta("device_id"),
    }
    return downloads.submit(client.measured_call, "GET", "/v1/sync/pull", **query)


def write(
    store: Store, answer: tuple[PullOut, int], report: SyncReport, progress: Progress
) -> None:
    """Store the first screen, for the download that follows to mark or drop."""
    page, size = answer
    rows = [
        (c["entity"], c["id"], c["version"], dumps(c["record"]))
        for c in page["changes"]
        if not c["deleted"]
    ]
    with store.transaction() as conn:
        conn.executemany(INSERT, rows)
        store.set_meta(conn, META, True)
    report.first_screen = len(rows)
    report.downloaded += size
    progress("first_screen", len(rows), report.downloaded)
    failpoints.hit("device.pull.first_screen")
