"""The server database: engine, transactions and first-start setup.

SQLite runs in WAL mode with one writer: write transactions start with
`BEGIN IMMEDIATE`, so two writers queue on the lock instead of failing halfway.

On PostgreSQL writers meet at a gate, an advisory lock held to the end of the
transaction: pushes (`write_beside`) pass it side by side, and lock the records
they read; every other writer (`write`: an admin's change, the records API, a
vacuum) passes it alone, so it reads what every earlier writer committed, as
SQLite's writers do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fieldsync.errors import MissingExtra
from fieldsync.server import bulk, checkpoints, cursors, migrate, projects, schema, versions

DEFAULT_DB = "fieldsync.db"


def database_url(db: str | None) -> str:
    """A SQLAlchemy URL from `--db`, `FIELDSYNC_DB` or the default file."""
    value = db or os.environ.get("FIELDSYNC_DB") or DEFAULT_DB
    if "://" not in value:
        return f"sqlite:///{value}"
    for prefix in ("postgresql://", "postgres://"):
        if value.startswith(prefix):
            value = "postgresql+psycopg://" + value.removeprefix(prefix)
    if value.startswith("postgresql"):
        _require_postgresql_driver()
    return value


def _require_postgresql_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise MissingExtra(
            "PostgreSQL needs its driver: pip install 'fieldsync[postgresql]'"
        ) from None


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(
        url,
        json_serializer=lambda v: orjson.dumps(v).decode(),
        json_deserializer=bulk.json_value,
        connect_args={"timeout": 30},
    )

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=30000",
            # Negative: in KiB. A large push's records and index pages stay in memory.
            "cache_size=-16384",
            f"wal_autocheckpoint={checkpoints.SAFETY_NET_PAGES}",
        ):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("fieldsync_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# Connections a process opens to PostgreSQL as its load needs them, and keeps: a pool
# that closed those it opened beyond a few made PostgreSQL start a backend process
# for every other request of a busy server.
CONNECTIONS = 15

# The writers' gate: an advisory lock key of its own (outside `versions`' keys).
_GATE = 0x6672 << 48
_PASS_ALONE = sa.text(f"SELECT pg_advisory_xact_lock({_GATE})")
_PASS_BESIDE = sa.text(f"SELECT pg_advisory_xact_lock_shared({_GATE})")


class Database:
    """One server database; `read()` and `write()` hand out transactions."""

    def __init__(self, db: str | None = None) -> None:
        self.url = database_url(db)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = sa.create_engine(
                self.url,
                json_serializer=lambda v: orjson.dumps(v).decode(),
                json_deserializer=orjson.loads,
                pool_pre_ping=True,
                pool_size=CONNECTIONS,
                max_overflow=0,
            )

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[tuple[Connection, versions.Watermark]]:
        """A read transaction that sees one state of the database in all its statements,
        and how far a pull may read in it (see `versions`).

        A pull reads the project, the scope changes and the records, which must agree:
        PostgreSQL's default isolation (READ COMMITTED) lets each statement see what
        committed meanwhile, so this asks for REPEATABLE READ (a read-only transaction
        never fails for it), after reading the watermark. SQLite's transactions always
        read one state.
        """
        with self.engine.connect() as conn:
            if self.is_sqlite:
                with conn.begin():
                    yield conn, versions.watermark(conn)
                return
            # Its own statements, outside the snapshot (which starts with the next one).
            with conn.execution_options(isolation_level="AUTOCOMMIT").begin():
                watermark = versions.watermark(conn)
            with conn.execution_options(isolation_level="REPEATABLE READ").begin():
                yield conn, watermark

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that writers pass alone: committed when the block ends,
        rolled back on error.

        SQLite's `BEGIN IMMEDIATE`, PostgreSQL's gate (taken before anything is read):
        the transaction reads what every earlier writer committed, and no other writer
        runs until it ends.
        """
        with self._writing(_PASS_ALONE) as conn:
            yield conn

    @contextmanager
    def write_beside(self) -> Iterator[Connection]:
        """A write transaction that runs beside others of its kind on PostgreSQL (a push).

        It must lock every record it reads to decide a write (`records.get_many(lock=
        True)`): that is how writers of the same record meet each other's commits.
        Versions commit out of order; pulls read up to the watermark (`versions`).
        It waits for a `write` in progress, and a `write` waits for it.
        """
        with self._writing(_PASS_BESIDE) as conn:
            yield conn

    @contextmanager
    def _writing(self, gate: sa.TextClause) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(fieldsync_write=True)
            with conn.begin():
                if not self.is_sqlite:
                    conn.execute(gate)
                yield conn

    @contextmanager
    def write_apart(self) -> Iterator[Connection]:
        """A short write transaction on rows no push or pull reads (login attempts).

        On PostgreSQL it does not take turns with the writers of records; its rows
        are locked by the statements themselves. SQLite has one writer anyway.
        """
        with self.engine.connect() as conn:
            conn = conn.execution_options(fieldsync_write=True)
            with conn.begin():
                yield conn

    @property
    def display_url(self) -> str:
        """The URL without its password, for logs and messages."""
        return sa.make_url(self.url).render_as_string(hide_password=True)

    def prepare(self, *, upgrade: bool = False) -> None:
        """Make the database ready to serve: create a new one, refuse or upgrade an old one.

        A new database gets the newest schema, the demo project and the version counter.
        """
        with self.engine.connect() as conn:
            fresh = migrate.current(conn) is None
        if fresh or upgrade:
            migrate.upgrade(self.engine)
        migrate.check(self.engine)
        with self.write() as conn:
            if conn.execute(sa.select(schema.counters.c.value)).first() is None:
                conn.execute(sa.insert(schema.counters).values(name="version", value=0))
                projects.seed(conn)
            cursors.ensure_epoch(conn)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
