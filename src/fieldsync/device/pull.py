"""Pull phase: page through server changes and apply each page in one local transaction.

A page is decoded into its changes, each record's values left as the JSON text the
server sent, which is what the store keeps: nothing is decoded to be encoded again.
The next page downloads while the last one is written; the cursor moves only with
the page it belongs to, so a crash at any point resumes after the last written page.

A record with unsynced local changes is never overwritten by a pull: its newest
server state is kept beside it (`server_*`), and the next push meets the server's
version. A 410 `resync_required` starts a full download that keeps local edits
and, at its end, drops the synced records the server no longer sends. A first
download starts with the first screen (see `first_screen`).
"""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from fieldsync import failpoints
from fieldsync.device import first_screen
from fieldsync.device.client import Client
from fieldsync.device.report import Progress, SyncReport
from fieldsync.device.store import SYNCED, Store
from fieldsync.errors import Offline, ServerRefused
from fieldsync.wire import PullOut

PAGE_SIZE = 2500
# A page's JSON stops short of this (the server's cap): on a slow link (2 Mbit/s) a
# page of records with long texts is still seconds long, not minutes.
PAGE_BYTES = 2 * 1024 * 1024
# Compressed answers come over a network link, where each page costs a round trip:
# pages twice larger, still a few seconds at 2 Mbit/s.
COMPRESSED_PAGE_SIZE, COMPRESSED_PAGE_BYTES = 2 * PAGE_SIZE, 2 * PAGE_BYTES
# Each commit writes every index page it touched: a large first download commits
# seldom, so that each page is written a few times, not once per small commit.
RECORDS_PER_COMMIT = 50_000
CURSOR_HEADER, MORE_HEADER = "fieldsync-cursor", "fieldsync-more"  # see the server's `api.sync`

UPSERT = (  # a synced row keeps its values once, in `data` (see `store`)
    "INSERT INTO records (entity, id, base_version, base, data, state, seen) "
    "VALUES (?, ?, ?, NULL, ?, 'synced', 1) ON CONFLICT (entity, id) DO UPDATE SET "
    "base_version = excluded.base_version, base = NULL, data = excluded.data, seen = 1 "
    # A version is one state of a record: a synced row at this version has it already
    # (the push's answer brought it), unless a full download must mark it seen.
    "WHERE records.state = 'synced' AND (records.base_version IS NOT excluded.base_version "
    "OR records.seen = 0)"
)
REMOVE = "DELETE FROM records WHERE entity = ? AND id = ? AND state = 'synced'"
REMEMBER = (
    "UPDATE records SET server_version = ?1, server_data = ?2, server_deleted = ?3, seen = 1 "
    # A User Action conflict's answer brought this version already (a full download
    # must still mark it seen).
    "WHERE entity = ?4 AND id = ?5 AND (server_version IS NOT ?1 OR seen = 0 "
    # One version comes as deleted when it leaves the scope and as a record when it
    # comes back.
    "OR server_deleted IS NOT ?3)"
)


class Change(msgspec.Struct):
    """One change of a page (see the wire's `PulledChange`); `record` is its JSON text."""

    entity: str
    id: str
    version: int
    deleted: bool
    record: msgspec.Raw  # `null` when deleted


class Page(msgspec.Struct):
    """One page of a pull (see the wire's `PullOut`)."""

    changes: list[Change]
    cursor: str
    more: bool
    project_version: int


PAGE = msgspec.json.Decoder(Page)


class Pull:
    """The pull phase of one sync, whose first page may be asked for before it runs.

    `start()` sends the first request; the push calls it as soon as the server has
    answered its last batch, so the server reads the page while the device stores
    that batch's results. The page is the same as if asked for afterwards: the push
    is committed, and the cursor is not touched by a push.
    """

    def __init__(self, store: Store, client: Client) -> None:
        self.store, self.client = store, client
        self.downloads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pull")
        self.reader: _Reader | None = None
        self.first_screen: Future[tuple[PullOut, int]] | None = None

    def __enter__(self) -> Pull:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.downloads.shutdown(cancel_futures=True)

    def start(self) -> None:
        """Ask for the first page (once); on a first download, the first screen beside it
        (written first; an empty one then costs no round trip)."""
        if self.reader is None and first_screen.wanted(self.store):
            self.first_screen = first_screen.ask(self.downloads, self.client, self.store)
        self._read()

    def _read(self) -> _Reader:
        """The pages from the cursor on (the first asked for once)."""
        if self.reader is None:
            cursor, query = _position(self.store, compressed=self.client.coding is not None)
            self.reader = _Reader(self.downloads, self.client, cursor, query)
        return self.reader

    def run(self, report: SyncReport, progress: Progress) -> int:
        """Pull until the server has nothing more (restarting once on 410).

        Returns the server's project version, so the caller knows whether to download it.
        """
        self.start()
        if self.first_screen is not None:
            first_screen.write(self.store, self.first_screen.result(), report, progress)
        try:
            return self._pages(self._read(), report, progress)
        except ServerRefused as refusal:
            if refusal.status != 410:
                raise
            start_resync(self.store)
            report.resynced = True
            self.reader = None
            return self._pages(self._read(), report, progress)

    def _pages(self, reader: _Reader, report: SyncReport, progress: Progress) -> int:
        store = self.store
        page = reader.next()
        while True:
            page = _write(store, reader, page, report, progress)
            failpoints.hit("device.pull.page")
            if not page.more:
                break
            page = reader.next()
        if _sweeping(store):
            _finish_resync(store)
        return page.project_version


def _position(store: Store, compressed: bool) -> tuple[str, dict[str, Any]]:
    """Where the pull starts: the cursor, and the query of every page."""
    query = {
        "limit": COMPRESSED_PAGE_SIZE if compressed else PAGE_SIZE,
        "max_bytes": COMPRESSED_PAGE_BYTES if compressed else PAGE_BYTES,
        "device_id": store.get_meta("device_id"),
        # A full download, or one after a first screen, must list every record, this
        # device's own writes included: the rows it does not bring are dropped at its end.
        "skip_own": None if _sweeping(store) else "true",
    }
    return store.get_meta("cursor", ""), query


def _sweeping(store: Store) -> bool:
    """True when the download's end drops the synced rows it did not bring."""
    return bool(store.get_meta("resync", False) or store.get_meta(first_screen.META, False))


def _page(body: bytes) -> Page:
    """The page an answer holds (decoded in the thread that downloaded it)."""
    try:
        return PAGE.decode(body)
    except msgspec.DecodeError as stranger:  # a cut answer, or not a page of a pull
        raise Offline(f"a page of the pull is not a fieldsync server's ({stranger})") from stranger


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
            _apply_page(conn, page.changes, pending)
            store.set_meta(conn, "cursor", page.cursor)
            written += len(page.changes)
            report.pulled += len(page.changes)
            report.downloaded += reader.received
            progress("pull", report.pulled, report.downloaded)
            if not (page.more and written < RECORDS_PER_COMMIT and reader.ready()):
                return page
            page = reader.next()


class _Reader:
    """The pages after a cursor, in order, at most two downloading at once.

    The server names a page's cursor in its headers, ahead of its body: the next page
    is asked for as soon as they arrive, so the server reads it while this one is on
    its way (on a slow link, a round trip and the server's time per page hidden). Only
    the cursor in a page's body counts: a page asked for early with another cursor
    (its answer was tried again and differed) is dropped and asked for again.
    """

    def __init__(
        self, downloads: ThreadPoolExecutor, client: Client, cursor: str, query: dict[str, Any]
    ) -> None:
        self.downloads, self.client, self.query = downloads, client, query
        self.lock = threading.Lock()
        self.following: _Download | None = None  # the page after `coming`, asked for early
        with self.lock:  # its headers may come before `coming` is set
            self.coming = self._download(cursor)  # the page `next` gives next
        self.received = 0  # bytes on the wire of the page `next` gave last

    def next(self) -> Page:
        """The next page (waiting for it); the one after is on its way."""
        page, self.received = self.coming.future.result()
        if not page.more:
            return page
        with self.lock:
            following, self.following = self.following, None
            if following is None or following.cursor != page.cursor:
                following = self._download(page.cursor)
            self.coming = following
            if following.announced is not None:  # its headers came while it waited its turn
                self.following = self._download(following.announced)
        return page

    def ready(self) -> bool:
        """True when the next page has arrived (a failed download is not ready: its
        error must come after the pages written so far are committed)."""
        future = self.coming.future
        return future.done() and future.exception() is None

    def _download(self, cursor: str) -> _Download:
        download = _Download(cursor)
        download.future = self.downloads.submit(self._fetch, download)
        return download

    def _fetch(self, download: _Download) -> tuple[Page, int]:
        def headed(headers: httpx.Headers) -> None:
            if headers.get(MORE_HEADER) == "true" and CURSOR_HEADER in headers:
                self._announced(download, headers[CURSOR_HEADER])

        body, size = self.client.measured_call(
            "GET",
            "/v1/sync/pull",
            headed=headed,
            decoded=False,
            cursor=download.cursor,
            **self.query,
        )
        return _page(body), size

    def _announced(self, download: _Download, cursor: str) -> None:
        """`download`'s headers name the cursor after it: ask for that page now if
        `download` is the next to be written (not further ahead)."""
        with self.lock:
            download.announced = cursor
            if download is self.coming and self.following is None:
                self.following = self._download(cursor)


@dataclass
class _Download:
    """One page on its way: the cursor it was asked for, and the one its headers named."""

    cursor: str
    announced: str | None = None
    future: Future[tuple[Page, int]] = field(init=False)


def _pending(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    """The records with unsynced local changes, which a pull must not overwrite."""
    rows = conn.execute("SELECT entity, id FROM records WHERE state != 'synced'")
    return {(entity, record_id) for entity, record_id in rows}


def _apply_page(
    conn: sqlite3.Connection, changes: list[Change], pending: set[tuple[str, str]]
) -> None:
    upserts, removals, remembered = [], [], []
    # A page may hold a record twice (it left the scope, then came back): the last wins.
    latest = {(c.entity, c.id): c for c in changes}
    for key, c in latest.items():
        if key in pending:
            remembered.append((c.version, _values(c), c.deleted, *key))
        elif c.deleted:
            removals.append(key)
        else:
            upserts.append((*key, c.version, _values(c)))
    conn.executemany(UPSERT, upserts)
    conn.executemany(REMOVE, removals)
    conn.executemany(REMEMBER, remembered)


def _values(change: Change) -> str | None:
    """A record's values as the server sent them, for its column (a deleted one's: NULL)."""
    return None if change.deleted else bytes(change.record).decode()


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
        store.set_meta(conn, first_screen.META, False)
