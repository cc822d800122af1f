"""A device record's base: the server version last received, with its values.

A synced row's base is its data, so it is kept once: `base` is NULL and `data`
holds both, which halves what a pull writes. The first edit stores the base apart
(`KEEP_BASE`), and a row that becomes synced again drops it (`stored`). Everything
that reads a row's base goes through `base_of` or `column`, so no reader forgets
that a NULL base of a synced row means "the same as `data`".
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fieldsync.device.store import SYNCED, dumps


def column(table: str = "") -> str:
    """SQL for a row's base values as stored JSON; `table` qualifies the columns."""
    t = f"{table}." if table else ""
    return f"CASE WHEN {t}base IS NULL AND {t}state = '{SYNCED}' THEN {t}data ELSE {t}base END"


# The `SET` clause of an edit: the row's base, stored apart from the data it changes.
KEEP_BASE = f"base = {column()}"


def base_of(row: sqlite3.Row) -> str | None:
    """A record row's base values as stored JSON."""
    base: str | None = row["base"]
    return row["data"] if base is None and row["state"] == SYNCED else base


def stored(base: Any, state: str) -> str | None:
    """What the `base` column holds for a row in `state` whose base values are `base`."""
    return None if state == SYNCED else dumps(base)
