"""Fresh PostgreSQL databases for the tests, made ahead and dropped behind their back.

`CREATE DATABASE … TEMPLATE` and `DROP DATABASE` each take a good part of a second on
a busy server, longer than most tests. A `DatabasePool` runs them in threads of its
own while the tests run: one keeps the next few databases made from its template
ready, others drop each one a test gives back. A drop waits for a checkpoint of the
whole server, which drops waiting at the same time share: they run side by side.
Every database is handed out once, so no test sees what another did; `close` drops
whatever the pool still has, handed out or not, so none outlives the session.
"""

from __future__ import annotations

import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import sqlalchemy as sa

AHEAD = 2  # databases kept ready: a test rarely takes more than one at a time
DROPPERS = 4  # drops at a time


def create_database(admin: sa.Engine, template: str | None = None) -> str:
    """Create an empty (or templated) database on `admin`'s server; returns its name."""
    name = f"fieldsync_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        )
        # A commit need not wait for the disk: the tests kill fieldsync servers, never
        # PostgreSQL, and a commit PostgreSQL acknowledged survives a killed client, so
        # the exactly-once and crash tests mean what they did. (Not copied by TEMPLATE.)
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return name


def drop_database(admin: sa.Engine, name: str) -> None:
    """Drop a database, closing whatever connections to it are left."""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class DatabasePool:
    """Databases made from `template` (or empty ones) on `admin`'s server, each handed
    out once; made and dropped in background threads."""

    def __init__(self, admin: sa.Engine, template: str | None = None) -> None:
        self.admin, self.template = admin, template
        self.making = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-pool-make")
        self.dropping = ThreadPoolExecutor(max_workers=DROPPERS, thread_name_prefix="pg-pool-drop")
        self.ready: deque[Future[str]] = deque(self.made() for _ in range(AHEAD))
        self.out: set[str] = set()
        self.dropped: list[Future[None]] = []

    def made(self) -> Future[str]:
        return self.making.submit(create_database, self.admin, self.template)

    def take(self) -> str:
        """A database no test has used; the thread starts on the next one."""
        self.ready.append(self.made())
        name = self.ready.popleft().result()  # a failure to create it fails the test
        self.out.add(name)
        return name

    def handed_out(self, name: str) -> bool:
        return name in self.out

    def give_back(self, name: str) -> None:
        """Drop `name` (one this pool handed out) in the background."""
        self.out.discard(name)
        self.dropped.append(self.dropping.submit(drop_database, self.admin, name))

    def close(self) -> None:
        """Drop every database the pool made and wait for it; a drop that failed
        (a database left behind) raises here."""
        for made in self.ready:
            if made.exception() is None:
                self.give_back(made.result())
        self.ready.clear()
        for name in list(self.out):
            self.give_back(name)
        self.making.shutdown(wait=True)
        self.dropping.shutdown(wait=True)
        for dropped in self.dropped:
            dropped.result()
