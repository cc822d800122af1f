"""The device's local SQLite store: one file per device directory.

Each record row keeps its **base** (the server version last received, with its
values), the current values on the device (`data`, None once deleted here), a
local `state`, a `rev` bumped by every local edit, and, while the record has
unsynced changes, the newest server state a pull brought (`server_*`), so a
discarded change falls back to what the server has now. A synced row keeps its
base once, in `data` (see `base`).

The schema's version is SQLite's `PRAGMA user_version`: a store is brought up to
this version's schema when opened, and a store made by a newer fieldsync is refused.

An open conflict keeps D and S as they met (`device`, `server`), and once the
user decided, the `choice` and, for a merge, the side picked for each field
(`picks`); the merge is made at the next sync, of the record as it is then.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from fieldsync import sql
from fieldsync.errors import NotLoggedIn, StoreTooNew
from fieldsync.project import Project, project_from_dict

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    base_version INTEGER,
    base TEXT,
    data TEXT,
    state TEXT NOT NULL,
    rev INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    conflict_id TEXT,
    server_version INTEGER,
    server_data TEXT,
    server_deleted INTEGER,
    seen INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (entity, id)
);
CREATE INDEX IF NOT EXISTS records_pending ON records (state) WHERE state != 'synced';
CREATE TABLE IF NOT EXISTS conflicts (
    id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    device TEXT,
    server TEXT,
    server_deleted INTEGER NOT NULL,
    server_version INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    choice TEXT,
    picks TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
    batch_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    snapshots TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    details TEXT NOT NULL
);
"""

SYNCED, CREATED, UPDATED, DELETED = "synced", "created", "updated", "deleted"


# The scripts that bring a store from each version to the next: a store at version N
# runs those after the N-th. A change of the schema appends one.
MIGRATIONS = (SCHEMA,)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the store to this version's schema, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StoreTooNew(
                f"{path} was made by a newer fieldsync (schema {version}, this one knows "
                f"{len(MIGRATIONS)}); upgrade fieldsync to open it"
            )
        for script in MIGRATIONS[version:]:
            for statement in script.split(";"):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def among(
    conn: sqlite3.Connection, query: str, values: list[str], *params: Any
) -> Iterator[sqlite3.Row]:
    """The rows of `query`, whose `{marks}` is an IN list, for all of `values` (a chunk at
    a time; `params` come before each chunk's)."""
    for chunk in sql.chunks(values):
        yield from conn.execute(query.format(marks=sql.marks(len(chunk))), (*params, *chunk))


def dumps(value: Any) -> str | None:
    """JSON text for a column (None stays NULL)."""
    return None if value is None else orjson.dumps(value).decode()


def loads(text: str | bytes | None) -> Any:
    """A column's JSON value (NULL reads as None)."""
    return None if text is None else orjson.loads(text)


class Store:
    """The SQLite file of one device; `transaction()` serializes writers."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "device.db"
        self.conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=30, check_same_thread=False
        )
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-32000")  # 32 MB: big pulls stay out of the disk
        # Copy the WAL back every 10,000 pages rather than SQLite's 1,000: a sync then
        # seldom pays for a checkpoint, and closing the store checkpoints anyway.
        self.conn.execute("PRAGMA wal_autocheckpoint=10000")
        _migrate(self.conn, self.path)
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all of it lands, or none of it (one at a time per process)."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def get_meta(self, key: str, default: Any = None) -> Any:
        """A setting of the device (server, token, cursor, project…)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else loads(row[0])

    def set_meta(self, conn: sqlite3.Connection, key: str, value: Any) -> None:
        """Store a setting inside the caller's transaction."""
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, dumps(value)),
        )

    def project(self) -> Project:
        """The project as last downloaded from the server."""
        data = self.get_meta("project")
        if data is None:
            raise NotLoggedIn("this device has no project yet; log in first")
        return project_from_dict(data)

    def next_seq(self, conn: sqlite3.Connection) -> int:
        """The next local change number: changes are pushed in this order."""
        seq = int(self.get_meta("seq", 0)) + 1
        self.set_meta(conn, "seq", seq)
        return seq

    def row(self, entity: str, record_id: str) -> sqlite3.Row | None:
        """One record row, if the device has it."""
        return self.conn.execute(  # type: ignore[no-any-return]
            "SELECT * FROM records WHERE entity = ? AND id = ?", (entity, record_id)
        ).fetchone()

    def forget_records(self, conn: sqlite3.Connection) -> None:
        """Drop every record, conflict and unsent batch, and start the download afresh:
        the directory becomes another user's device."""
        conn.execute("DELETE FROM records")
        conn.execute("DELETE FROM conflicts")
        conn.execute("DELETE FROM outbox")
        self.set_meta(conn, "cursor", "")
        self.set_meta(conn, "resync", False)
        self.set_meta(conn, "first_screen", False)

    def log(self, conn: sqlite3.Connection, at: str, event: str, details: dict[str, Any]) -> None:
        """Append to the sync log."""
        conn.execute(
            "INSERT INTO sync_log (at, event, details) VALUES (?, ?, ?)",
            (at, event, dumps(details)),
        )

    def close(self) -> None:
        """Close the file."""
        self.conn.close()
