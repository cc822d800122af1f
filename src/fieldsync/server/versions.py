"""Record versions: how writers take them, and how far a pull may read.

Every write of a record, and every scope change, takes a new version; a pull
returns what changed after the device's cursor in version order. A version taken
by one transaction may commit after a larger one of another (see
docs/operations.md, "Why a pull never skips a change"), so a pull reads only up to
the **watermark**: a version that every version at or below it has settled
(committed, or rolled back and never to be seen).

- SQLite has one writer at a time (`BEGIN IMMEDIATE`), which takes its versions
  from the `counters` row: the counter is the watermark.
- On PostgreSQL writers take versions from the sequence `record_versions` without
  waiting for each other. Before its first one, a writer holds an advisory lock
  (until it commits or rolls back) whose key is the sequence's value then: a
  lower bound of every version it takes. A pull reads the sequence, then the
  writers' locks, then starts its snapshot; the watermark is the smallest bound
  held, or the sequence's value when none is.
"""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.server.schema import counters

SEQUENCE = "record_versions"
# The advisory lock keys of fieldsync's writers: this tag plus a version (below 2**48).
_TAG = 0x6673 << 48
_REGISTER = sa.text(f"SELECT pg_advisory_xact_lock_shared({_TAG} + last_value) FROM {SEQUENCE}")
_TAKE = sa.text(f"SELECT nextval('{SEQUENCE}') FROM generate_series(1, :count)")
_ISSUED = sa.text(f"SELECT last_value FROM {SEQUENCE}")
# A writer's key in pg_locks: the high and low halves of the bigint, in this database.
_PENDING = sa.text(
    f"""
    SELECT min((classid::bigint << 32 | objid::bigint) - {_TAG}) FROM pg_locks
    WHERE locktype = 'advisory' AND objsubid = 1
      AND classid::bigint >= {_TAG >> 32} AND classid::bigint < {(_TAG >> 32) + (1 << 16)}
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    """
)


class Watermark(NamedTuple):
    """How far a pull may read: every version up to `settled` has committed or never
    will; `issued` is the newest version handed out (a cursor past it is unknown)."""

    issued: int
    settled: int


def take(conn: Connection, count: int) -> list[int]:
    """`count` new versions, in increasing order, inside a write transaction."""
    if conn.dialect.name != "postgresql":
        first = _counter(conn) + 1
        _store(conn, first + count - 1)
        return list(range(first, first + count))
    conn.execute(_REGISTER)  # before the versions: the bound a pull sees is below them
    return sorted(int(v) for v in conn.execute(_TAKE, {"count": count}).scalars())


class Allocator:
    """The versions of one write transaction's records, taken as they are needed.

    On SQLite the transaction is the only writer: versions are counted on from the
    counter as the transaction found it, and `finish` stores the last one. On
    PostgreSQL they are taken from the sequence, `expected` at a time (those left
    unused are gaps, which a cursor passes over like any version it may not see).
    """

    def __init__(self, conn: Connection, expected: int = 1) -> None:
        self.sqlite = conn.dialect.name != "postgresql"
        self.expected = max(expected, 1)
        self.last = _counter(conn) if self.sqlite else 0
        self.pool: list[int] = []

    @property
    def empty(self) -> bool:
        """True when more versions must be taken (`take_more`) before the next."""
        return not self.sqlite and not self.pool

    def take_more(self, conn: Connection) -> None:
        """Take the versions the transaction is expected to need (PostgreSQL)."""
        self.pool = take(conn, self.expected)[::-1]
        self.expected = 1  # more than expected: one at a time

    def next(self) -> int:
        """The next version (taken already on PostgreSQL: see `empty`)."""
        self.last = self.last + 1 if self.sqlite else self.pool.pop()
        return self.last

    def finish(self, conn: Connection) -> None:
        """Store the counter (SQLite) once the transaction's records are written."""
        if self.sqlite:
            _store(conn, self.last)


def _store(conn: Connection, version: int) -> None:
    """Set the counter (SQLite): the newest version handed out."""
    conn.execute(sa.update(counters).where(counters.c.name == "version").values(value=version))


def watermark(conn: Connection) -> Watermark:
    """How far a pull may read. On PostgreSQL this must be read before the pull's
    snapshot begins (`Database.snapshot` does), each read in its own statement and in
    this order: the sequence, then the writers' bounds."""
    if conn.dialect.name != "postgresql":
        issued = _counter(conn)
        return Watermark(issued, issued)
    issued = int(conn.execute(_ISSUED).scalar_one())
    pending = conn.execute(_PENDING).scalar()
    return Watermark(issued, issued if pending is None else min(issued, int(pending)))


def _counter(conn: Connection) -> int:
    return int(
        conn.execute(sa.select(counters.c.value).where(counters.c.name == "version")).scalar_one()
    )
