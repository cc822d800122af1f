"""Changes refused only because of their parent, sent again once the parent's change is.

The server refuses a change whose lookup points at a parent it cannot take now: one
in an open conflict, deleted on the server, rejected, or missing. Nothing is wrong
with the child itself, so it does not wait for the user: it goes again in the push
that sends its parent's next change (the user's choice for its conflict, a fix, a
retry; parents go first), or once the parent is settled on the device (a console
resolved its conflict, its change was discarded). Until then it stays in Sync
errors with the server's reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from typing import Any

from fieldsync.device.store import SYNCED, loads
from fieldsync.project import Project

Key = tuple[str, str]

PARENT_REFUSALS = frozenset(
    {"missing_parent", "parent_deleted", "parent_conflict", "parent_rejected"}
)


def released(
    conn: sqlite3.Connection,
    project: Project,
    refused: list[dict[str, Any]],
    sending: Collection[Key],
) -> list[dict[str, Any]]:
    """The `refused` rows to send again with `sending`: those refused only because of a
    parent that is among `sending` or settled on the device. Their refusal is cleared
    (in the caller's transaction): they are pending again."""
    again = []
    for row in refused:
        parent = parent_of(project, row)
        if parent is not None and (parent in sending or _settled(conn, parent)):
            again.append(row)
    conn.executemany(
        "UPDATE records SET error = NULL WHERE entity = ? AND id = ? AND rev = ?",
        [(row["entity"], row["id"], row["rev"]) for row in again],
    )
    return again


def parent_of(project: Project, row: dict[str, Any]) -> Key | None:
    """The parent a rejected row was refused for alone, if it was."""
    error = loads(row["error"])
    details = error.get("details")
    if error.get("code") not in PARENT_REFUSALS or not isinstance(details, dict):
        return None
    entity = project.entity(row["entity"])
    lookup = entity.field(str(details.get("field"))) if entity is not None else None
    if lookup is None or lookup.target is None:
        return None
    return lookup.target, str(details.get("parent"))


def _settled(conn: sqlite3.Connection, key: Key) -> bool:
    """True when the device holds the record as the server has it, not deleted."""
    row = conn.execute(
        "SELECT state, data FROM records WHERE entity = ? AND id = ?", key
    ).fetchone()
    return row is not None and row["state"] == SYNCED and row["data"] is not None
