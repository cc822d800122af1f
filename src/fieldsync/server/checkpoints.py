"""SQLite's write-ahead log copied back into the database file in the background.

By default SQLite checkpoints inside whichever commit pushes the log past 1,000
pages: a large push would then copy the log back while its device waits for the
answer. The server instead checkpoints from one thread once a second, PASSIVE (it
neither waits for nor blocks readers and writers); the commit-time checkpoint stays
as a safety net (`SAFETY_NET_PAGES`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

SAFETY_NET_PAGES = 25_000  # `wal_autocheckpoint`: what a commit still checkpoints (~100 MB)
INTERVAL = 1.0  # seconds between background checkpoints

log = logging.getLogger(__name__)


@contextmanager
def running(engine: Engine, interval: float = INTERVAL) -> Iterator[None]:
    """Checkpoint `engine`'s SQLite file every `interval` seconds while the block runs."""
    if engine.dialect.name != "sqlite":
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_checkpoint_until, args=(engine, stop, interval), name="wal-checkpoints", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _checkpoint_until(engine: Engine, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except OperationalError as failure:  # e.g. the disk is full: the next round tries again
            log.warning("WAL checkpoint failed: %s", failure)
