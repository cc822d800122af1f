"""Admin operations: entity settings, remote resolution of open conflicts, restores."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.conflicts import Choice, Op, Situation, decide, merge_fields
from fieldsync.errors import Conflict, Unprocessable, ValidationFailed
from fieldsync.project import Entity, apply_settings
from fieldsync.server import bulk, crm, journal, projects, records
from fieldsync.server.records import StoredRecord
from fieldsync.server.schema import devices
from fieldsync.server.schema import journal as journal_table
from fieldsync.server.users import Principal
from fieldsync.validation import check_required


def update_entity(conn: Connection, admin: Principal, name: str, changes: dict[str, Any]) -> Entity:
    """Change an entity's settings and publish the next project version."""
    changed = apply_settings(projects.entity(conn, name), changes)
    projects.publish_entity(conn, changed, admin.user_id)
    return changed


def resolve_conflict(
    conn: Connection, admin: Principal, entry_id: str, use: Choice, picks: dict[str, Choice]
) -> journal.Entry:
    """Settle an open User Action conflict from the console; the device receives the outcome."""
    entry = journal.get(conn, entry_id)
    if not entry.is_open:
        raise Conflict("this conflict is not open any more", code="conflict_closed")
    row = entry.row
    entity = projects.entity(conn, row["entity"])
    current = records.get(conn, entity.name, row["record_id"])
    if current is None:
        raise Conflict("the record's tombstone was purged", code="record_purged")
    situation = _situation(entity, row, current)
    merged = None
    if use is Choice.MERGE:
        if row["device"] is None or current.deleted:
            raise Unprocessable("only two versions of a record can be merged", code="cannot_merge")
        merged = merge_fields(row["device"], current.data, picks)
    outcome = decide(situation, use, merged)
    if outcome.changed:
        if outcome.result is not None:
            try:
                check_required(entity, outcome.result)
            except ValidationFailed as failure:
                raise failure.as_api_error() from None
        records.save(conn, entity, current.id, outcome.result, actor=admin.user_id, current=current)
    with bulk.Lane(conn) as lane:
        journal.settle(lane, entry.standing, outcome, admin.user_id)
    return journal.get(conn, entry.id)


def _situation(entity: Entity, row: Any, current: StoredRecord) -> Situation:
    device = row["device"]
    return Situation(
        policy=entity.on_conflict,
        detection=entity.conflict_detection,
        op=Op.DELETE if device is None else Op.UPDATE,
        device=device,
        device_changed=frozenset(row["fields"]),
        server=current.data,
        server_deleted=current.deleted,
        server_modified=True,
        server_changed=current.changed_since(row["base_version"] or 0),
    )


def restore(
    conn: Connection, admin: Principal, entry_id: str, fields: list[str] | None
) -> StoredRecord:
    """Write the losing values of a journal entry back as a new server change."""
    entry = journal.get(conn, entry_id)
    if entry.is_open:
        raise Conflict("this conflict is still open; resolve it instead", code="conflict_open")
    lost = journal.losing_values(entry)
    if not lost:
        raise Conflict("nothing was overwritten in this conflict", code="nothing_to_restore")
    if fields is not None:
        unknown = set(fields) - set(lost)
        if unknown:
            raise Unprocessable(
                f"these fields did not lose: {', '.join(sorted(unknown))}", code="not_lost"
            )
        lost = {f: lost[f] for f in fields}
    row = entry.row
    stored = crm.write_values(conn, admin, row["entity"], row["record_id"], lost)
    journal.mark_restored(conn, entry.id, admin.user_id)
    return stored


def device_counts(conn: Connection) -> dict[str, int]:
    """How many devices each user has registered."""
    counted = sa.select(devices.c.user_id, sa.func.count()).group_by(devices.c.user_id)
    return {user_id: count for user_id, count in conn.execute(counted)}


def list_devices(
    conn: Connection, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The devices, oldest first (`limit` of them from `offset`), with their user, last
    sync times and open conflicts."""
    rows = conn.execute(
        sa.select(devices).order_by(devices.c.created_at, devices.c.id).limit(limit).offset(offset)
    ).all()
    open_counts: dict[str, int] = dict(
        conn.execute(
            sa.select(journal_table.c.device_id, sa.func.count())
            .where(journal_table.c.status == journal.OPEN)
            .group_by(journal_table.c.device_id)
        ).all()
    )
    return [
        {
            "id": r.id,
            "user_id": r.user_id,
            "created_at": r.created_at,
            "last_push_at": r.last_push_at,
            "last_pull_at": r.last_pull_at,
            "open_conflicts": open_counts.get(r.id, 0),
        }
        for r in rows
    ]
