"""The device's store: its schema version, kept in SQLite's `user_version`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldsync.cli.main import app
from fieldsync.device import Device
from fieldsync.device.store import MIGRATIONS, Store
from fieldsync.errors import StoreTooNew


def _user_version(directory: Path) -> int:
    with sqlite3.connect(directory / "device.db") as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_a_new_store_is_at_this_versions_schema(tmp_path: Path) -> None:
    Store(tmp_path).close()
    assert _user_version(tmp_path) == len(MIGRATIONS)


def test_a_store_made_by_a_newer_fieldsync_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / "device.db") as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreTooNew, match="newer fieldsync"):
        Device(tmp_path)
    refused = CliRunner().invoke(app, ["device", "errors", "--dir", str(tmp_path)])
    assert refused.exit_code == 1
    assert "upgrade fieldsync" in refused.output
    assert _user_version(tmp_path) == len(MIGRATIONS) + 1
