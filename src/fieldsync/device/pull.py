"""Pull phase: page through server changes and apply each page in one local transaction.

The next page downloads while the last one is written; the cursor moves only with
the page it belongs to, so a crash at any point resumes after the last written page.

A record with unsynced local changes is never overwritten by a pull: its newest
server state is kept beside it (`server_*`), and the next push meets the server's
version. A 410 `resync_required` starts a full download that keeps local edits
and, at its end, drops the synced records the server no longer sends.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fieldsync import failpoints
from fieldsync.device.client import Client
from fieldsync.device.report import Progress, SyncReport
from fieldsync.device.store import SYNCED, Store, dumps
from fieldsync.errors import ServerRefused

PAGE_SIZE = 2500
# Each commit writes every index page it touched: at 1M records, commits of 50k
# instead of 5k records made the initial pull ~1.5x faster.
RECORDS_PER_COMMIT = 50_000
Page = dict[str, Any]  # one answer of GET /v1/sync/pull

UPSERT = (
    "INSERT INTO records (entity, id, base_version, base, data, state, seen) "
    "VALUES (?, ?, ?, ?, ?, 'synced', 1) ON CONFLICT (entity, id) DO UPDATE SET "
    "base_version = excluded.base_version, base = excluded.base, data = excluded.data, seen = 1 "
    "WHERE records.state = 'synced'"
)
REMOVE = "DELETE FROM records WHERE entity = ? AND id = ? AND state = 'synced'"
REMEMBER = (
    "UPDATE records SET server_version = ?, server_data = ?, server_deleted = ?, seen = 1 "
    "WHERE entity = ? AND id = ?"
)


def pull(store: Store, client: Client, report: SyncReport, progress: Progress) -> int:
    """Pull until the server has nothing more (restarting once on 410).

    Returns the server's project version, so the caller knows whether to download it.
    """
    try:
        return _pull_pages(store, client, report, progress)
    except ServerRefused as refusal:
        if refusal.status != 410:
            raise
        start_resync(store)
        report.resynced = True
        return _pull_pages(store, client, report, progress)


def _pull_pages(store: Store, client: Client, report: SyncReport, progress: Progress) -> int:
    query = {
        "limit": PAGE_SIZE,
        "device_id": store.get_meta("device_id"),
        # A full download must list every record, this device's own writes included.
        "skip_own": None if store.get_meta("resync", False) else "true",
    }
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull") as downloads:
        reader = _Reader(downloads, client, store.get_meta("cursor", ""), query)
        page = reader.next()
        while True:
            page = _write(store, reader, page, report, progress)
            failpoints.hit("device.pull.page")
            if not page["more"]:
                break
            page = reader.next()
    if store.get_meta("resync", False):
        _finish_resync(store)
    return int(page["project_version"])


def _write(
    store: Store, reader: _Reader, page: Page, report: SyncReport, progress: Progress
) -> Page:
    """Write `page` and the pages already downloaded after it, up to RECORDS_PER_COMMIT,
    in one transaction (never waiting for the network inside it); returns the last."""
    with store.transaction() as conn:
        # Nobody else writes inside this transaction: the unsynced records stay the same.
        pending = _pending(conn)
        written = 0
        while True:
            _apply_page(conn, page["changes"], pending)
            store.set_meta(conn, "cursor", page["cursor"])
            written += len(page["changes"])
            report.pulled += len(page["changes"])
            progress("pull", report.pulled)
            if not (page["more"] and written < RECORDS_PER_COMMIT and reader.ready()):
                return page
            page = reader.next()


class _Reader:
    """The pages after a cursor, in order: the next one downloads while the last is written."""

    def __init__(
        self, downloads: ThreadPoolExecutor, client: Client, cursor: str, query: dict[str, Any]
    ) -> None:
        self.downloads, self.client, self.query = downloads, client, query
        self.coming = downloads.submit(_page, client, cursor, query)

    def next(self) -> Page:
        """The next page (waiting for it), and the one after starts downloading."""
        page = self.coming.result()
        if page["more"]:
            self.coming = self.downloads.submit(_page, self.client, page["cursor"], self.query)
        return page

    def ready(self) -> bool:
        """True when the next page has arrived (or failed)."""
        return self.coming.done()


def _page(client: Client, cursor: str, query: dict[str, Any]) -> Page:
    page: Page = client.call("GET", "/v1/sync/pull", cursor=cursor, **query)
    return page


def _pending(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    """The records with unsynced local changes, which a pull must not overwrite."""
    rows = conn.execute("SELECT entity, id FROM records WHERE state != 'synced'")
    return {(entity, record_id) for entity, record_id in rows}


def _apply_page(
    conn: sqlite3.Connection, changes: list[dict[str, Any]], pending: set[tuple[str, str]]
) -> None:
    upserts, removals, remembered = [], [], []
    for c in changes:
        key = (c["entity"], c["id"])
        if key in pending:
            remembered.append((c["version"], dumps(c["record"]), c["deleted"], *key))
        elif c["deleted"]:
            removals.append(key)
        else:
            values = dumps(c["record"])
            upserts.append((*key, c["version"], values, values))
    conn.executemany(UPSERT, upserts)
    conn.executemany(REMOVE, removals)
    conn.executemany(REMEMBER, remembered)


def start_resync(store: Store) -> None:
    """Forget the cursor and mark synced records unseen; local edits stay untouched."""
    with store.transaction() as conn:
        conn.execute("UPDATE records SET seen = 0 WHERE state = ?", (SYNCED,))
        store.set_meta(conn, "cursor", "")
        store.set_meta(conn, "resync", True)


def _finish_resync(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM records WHERE state = ? AND seen = 0", (SYNCED,))
        store.set_meta(conn, "resync", False)
