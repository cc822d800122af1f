"""Reading the store for people: records with their sync state, counts per entity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldsync import sql
from fieldsync.device.store import SYNCED, Store, loads


@dataclass(frozen=True)
class Item:
    """One live record as a list shows it."""

    id: str
    values: dict[str, Any]
    state: str  # synced, created, updated
    rejected: bool
    in_conflict: bool

    @property
    def unsynced(self) -> bool:
        """True while the device has changes the server has not accepted."""
        return self.state != SYNCED


def items(
    store: Store, entity: str, search: str = "", limit: int = 50, offset: int = 0
) -> list[Item]:
    """Live records of an entity, unsynced first, then by id; `search` is any value's text."""
    rows = store.conn.execute(
        "SELECT id, data, state, error, conflict_id FROM records "
        f"WHERE entity = ? AND data IS NOT NULL AND data LIKE ? ESCAPE '{sql.LIKE_ESCAPE}' "
        "ORDER BY state = 'synced', seq DESC, id LIMIT ? OFFSET ?",
        (entity, sql.containing(search), limit, offset),
    )
    return [
        Item(r["id"], loads(r["data"]), r["state"], r["error"] is not None, bool(r["conflict_id"]))
        for r in rows
    ]


def counts(store: Store) -> dict[str, tuple[int, int]]:
    """Per entity: live records on the device, and records with unsynced changes."""
    rows = store.conn.execute(
        "SELECT entity, sum(data IS NOT NULL), sum(state != ?) FROM records GROUP BY entity",
        (SYNCED,),
    )
    return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}
