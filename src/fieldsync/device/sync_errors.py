"""Sync errors: open conflicts and rejected changes, and what the user decides about them.

A conflict shows the record as it is on the device now (edited again perhaps
since the conflict was met) against the server's version. A choice (use device,
use server, merge with a side per field) is stored and applied at the next sync,
to the record as it is then. A rejected change is kept for "fix and retry" (edit
it, or `retry`) or "discard" (fall back to the server's version).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fieldsync.conflicts import Choice, Kind, Side, differing
from fieldsync.device import base
from fieldsync.device.store import CREATED, SYNCED, Store, dumps, loads
from fieldsync.device.threeway import field_changes, suggested_merge
from fieldsync.errors import Missing, StateConflict, ValidationFailed
from fieldsync.wire import ErrorBody

# The words of docs/policies.md for each side of each kind of conflict.
CHOICE_WORDS: dict[Kind, dict[Side, str]] = {
    Kind.UPDATE_UPDATE: {"device": "Use device version", "server": "Use server version"},
    Kind.UPDATE_DELETE: {"device": "Restore my version", "server": "Accept delete"},
    Kind.DELETE_UPDATE: {"device": "Delete anyway", "server": "Keep server version"},
}

WHAT_HAPPENED = {
    Kind.UPDATE_UPDATE: "Changed here and on the server",
    Kind.UPDATE_DELETE: "Changed here, deleted on the server",
    Kind.DELETE_UPDATE: "Deleted here, changed on the server",
}


# A conflict with the record's values on the device now (`current`) and its base (`before`).
CONFLICTS = f"""
SELECT c.*, r.data AS current, {base.column("r")} AS before
FROM conflicts c LEFT JOIN records r ON r.entity = c.entity AND r.id = c.record_id
"""


def listing(store: Store) -> list[dict[str, Any]]:
    """Every open conflict and rejected change, oldest first."""
    conflicts = [
        _conflict(row) for row in store.conn.execute(f"{CONFLICTS} ORDER BY c.created_at, c.id")
    ]
    rejected = [
        {
            "type": "rejected",
            "entity": row["entity"],
            "record_id": row["id"],
            **_error_of(row),
            "record": loads(row["data"]),
        }
        for row in store.conn.execute("SELECT * FROM records WHERE error IS NOT NULL ORDER BY seq")
    ]
    return conflicts + rejected


def conflict(store: Store, conflict_id: str) -> dict[str, Any] | None:
    """One conflict as `listing` shows it, if the device has it."""
    row = store.conn.execute(f"{CONFLICTS} WHERE c.id = ?", (conflict_id,)).fetchone()
    return None if row is None else _conflict(row)


def count(store: Store) -> int:
    """How many Sync errors there are (for a banner), without reading them."""
    row = store.conn.execute(
        "SELECT (SELECT count(*) FROM conflicts) + "
        "(SELECT count(*) FROM records WHERE error IS NOT NULL)"
    ).fetchone()
    return int(row[0])


def _error_of(row: Any) -> ErrorBody:
    error = loads(row["error"])
    return ErrorBody(code=error["code"], message=error["message"], details=error.get("details"))


def _conflict(row: Any) -> dict[str, Any]:
    device, server = loads(row["current"]), loads(row["server"])
    server_deleted = bool(row["server_deleted"])
    changes = field_changes(loads(row["before"]), device, None if server_deleted else server)
    return {
        "type": "conflict",
        "id": row["id"],
        "entity": row["entity"],
        "record_id": row["record_id"],
        "kind": row["kind"],
        "what": WHAT_HAPPENED[row["kind"]],
        "device": device,
        "server": None if server_deleted else server,
        "fields": sorted(differing(device, None if server_deleted else server)),
        "three_way": changes,
        "suggested_merge": [] if device is None or server_deleted else suggested_merge(changes),
        "choices": CHOICE_WORDS[row["kind"]],
        "choice": row["choice"],
        "created_at": row["created_at"],
    }


def resolve(
    store: Store, conflict_id: str, use: Choice, picks: Mapping[str, Choice] | None = None
) -> None:
    """Store the user's choice for one open conflict; the next sync applies it."""
    with store.transaction() as conn:
        row = conn.execute(f"{CONFLICTS} WHERE c.id = ?", (conflict_id,)).fetchone()
        if row is None:
            raise Missing(f"there is no open conflict {conflict_id}", code="unknown_conflict")
        if use is Choice.MERGE and (row["current"] is None or row["server_deleted"]):
            raise StateConflict("only two versions of a record can be merged", code="cannot_merge")
        sides = {f: side.value for f, side in (picks or {}).items()}
        conn.execute(
            "UPDATE conflicts SET choice = ?, picks = ? WHERE id = ?",
            (use.value, dumps(sides) if use is Choice.MERGE else None, conflict_id),
        )


def resolve_all(store: Store, use: Choice) -> int:
    """Make the same choice for every open conflict still undecided; returns how many.

    The device's or the server's version: a merge takes a side per field of one record.
    """
    if use is Choice.MERGE:
        raise ValidationFailed("cannot_merge_all", "merge one conflict at a time")
    ids = [r[0] for r in store.conn.execute("SELECT id FROM conflicts WHERE choice IS NULL")]
    for conflict_id in ids:
        resolve(store, conflict_id, use)
    return len(ids)


def retry(store: Store, entity: str, record_id: str) -> None:
    """Send a rejected change again at the next sync, as it is."""
    with store.transaction() as conn:
        changed = conn.execute(
            "UPDATE records SET error = NULL WHERE entity = ? AND id = ? AND error IS NOT NULL",
            (entity, record_id),
        ).rowcount
    if not changed:
        raise StateConflict(f"{entity} {record_id} has no rejected change", code="not_rejected")


def discard(store: Store, entity: str, record_id: str) -> None:
    """Drop a rejected change: the record goes back to the server's newest known version.

    That is the state a pull brought while the change was refused (kept beside it, see
    `store`), else the device's base; a record the server has none of for this user
    (a refused create with nothing pulled, `not_found`, deleted there) is removed, and
    a later pull brings it should the server have it after all.
    """
    row = store.row(entity, record_id)
    if row is None or row["error"] is None:
        raise StateConflict(f"{entity} {record_id} has no rejected change", code="not_rejected")
    server = _server_state(row)
    with store.transaction() as conn:
        key = (entity, record_id)
        if server is None:
            conn.execute("DELETE FROM records WHERE entity = ? AND id = ?", key)
            return
        conn.execute(
            "UPDATE records SET base_version = ?, base = NULL, data = ?, state = ?, error = NULL, "
            "server_version = NULL, server_data = NULL, server_deleted = NULL "
            "WHERE entity = ? AND id = ?",
            (*server, SYNCED, *key),
        )


def _server_state(row: Any) -> tuple[int, str | None] | None:
    """The server's newest state of a record that the device knows (version and values
    as stored JSON), or None when the server holds none this user may see."""
    if row["server_version"] is not None:
        return None if row["server_deleted"] else (row["server_version"], row["server_data"])
    if row["state"] == CREATED or loads(row["error"])["code"] == "not_found":
        return None
    return row["base_version"], base.base_of(row)
