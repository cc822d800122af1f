"""A running SQLite server copies what it commits into the database file itself.

SQLite keeps commits in its write-ahead log until a checkpoint; the server runs one
in the background every second, so the `.db` file alone (what a careless file copy
takes) is never far behind.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from conftest import seed
from fieldsync.device import Device
from fieldsync.server.background import running
from fieldsync.server.db import Database


def test_synced_records_reach_the_database_file_while_the_server_runs(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "crm.db"))
    seed(db)
    with running(db) as url:
        phone = Device.login(tmp_path / "phone", url, "alice", "secret")
        for n in range(50):
            phone.create("account", {"name": f"Account {n}"})
        assert phone.sync().applied == 50
        phone.close()
        in_file = _records_in_file_alone(tmp_path, deadline=time.monotonic() + 10)
    db.dispose()
    assert in_file == 50


def _records_in_file_alone(tmp_path: Path, deadline: float) -> int:
    """How many records a copy of crm.db without its log holds, once all 50 are there."""
    copy = tmp_path / "copy.db"
    while True:
        shutil.copyfile(tmp_path / "crm.db", copy)
        count = _count(copy)
        copy.unlink()
        if count == 50 or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def _count(copy: Path) -> int:
    with sqlite3.connect(copy) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])
        # Not even the tables have reached the file yet, or the copy caught a checkpoint
        # writing it (a torn copy): look again.
        except sqlite3.DatabaseError:
            return 0
