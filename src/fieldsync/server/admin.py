"""Admin operations: entity settings, remote resolution of open conflicts, restores."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.clock import now
from fieldsync.conflicts import (
    Choice,
    ConflictState,
    Op,
    Outcome,
    Situation,
    decide,
    differing,
    merge_fields,
    resolve,
)
from fieldsync.errors import Conflict, Superseded, Unprocessable, ValidationFailed, as_api_error
from fieldsync.project import Detection, Entity, Policy, Project, apply_settings, with_entity
from fieldsync.server import bulk, crm, customization, journal, projects, records, schema
from fieldsync.server.records import StoredRecord
from fieldsync.server.schema import devices
from fieldsync.server.users import Principal
from fieldsync.validation import check_record


def update_entity(
    conn: Connection,
    admin: Principal,
    name: str,
    changes: dict[str, Any],
    *,
    confirm: bool = False,
) -> Entity:
    """Change an entity's settings and publish the next project version.

    A destructive change is refused (409 `destructive_change`) unless `confirm`.
    """
    before = projects.current(conn)
    changed = apply_settings(projects.entity_in(before, name), changes)
    customization.guard(conn, before, with_entity(before, changed), confirm=confirm)
    projects.publish_entity(conn, changed, admin.user_id)
    return changed


def preview_entity(conn: Connection, name: str, changes: dict[str, Any]) -> customization.Report:
    """What changing an entity's settings would break; nothing is changed."""
    before = projects.current(conn)
    changed = apply_settings(projects.entity_in(before, name), changes)
    return customization.report(conn, before, with_entity(before, changed))


def import_project(
    conn: Connection, user_id: str | None, imported: Project, *, confirm: bool = False
) -> Project:
    """Publish an imported project as the next version; a destructive one only if `confirm`."""
    customization.guard(conn, projects.current(conn), imported, confirm=confirm)
    return projects.replace_all(conn, imported, user_id)


def preview_import(conn: Connection, imported: Project) -> customization.Report:
    """What publishing an imported project would break; nothing is changed."""
    return customization.report(conn, projects.current(conn), imported)


def resolve_conflict(
    conn: Connection, admin: Principal, entry_id: str, use: Choice, picks: dict[str, Choice]
) -> journal.JournalEntry | Superseded:
    """Settle an open User Action conflict from the console; the device receives the outcome.

    A choice for a conflict whose record the server changed after it opened is refused,
    as a device's is: the conflict is superseded and D meets the newest server version
    again. The refusal is returned, not raised: the caller raises it once this
    transaction is committed, which raising here would roll back.
    """
    entry = journal.get(conn, entry_id)
    if not entry.is_open:
        raise Conflict("this conflict is not open any more", code="conflict_closed")
    row = entry.row
    if use is Choice.MERGE and row["device"] is None:
        raise _cannot_merge()
    entity = projects.entity(conn, row["entity"])
    current = records.get(conn, entity.name, row["record_id"]) or _purged(entity, row)
    situation = _situation(row, current)
    if current.version != row["server_version"]:
        return _meet_again(conn, admin, entry, entity, situation, current)
    merged = None
    if use is Choice.MERGE:
        if current.deleted:
            raise _cannot_merge()
        _check_picks(entity, row, picks)
        merged = merge_fields(row["device"], current.data, picks)
    outcome = decide(situation, use, merged)
    written = _write(conn, admin, entity, current, outcome)
    with bulk.QueuedWrites(conn) as writes:
        journal.settle(writes, entry.state, outcome, admin.user_id, version=written.version)
    return journal.get(conn, entry.id)


def _cannot_merge() -> Unprocessable:
    return Unprocessable("only two versions of a record can be merged", code="cannot_merge")


def _check_picks(entity: Entity, row: Any, picks: dict[str, Choice]) -> None:
    """Refuse a pick of a field neither the entity nor the conflict's records have (a
    typo would otherwise settle the conflict with the server's value)."""
    known = {*entity.field_names, *row["device"], *row["server"]}
    for name in picks:
        if name not in known:
            raise Unprocessable(
                f"{entity.name} has no field {name!r:.80}",
                code="unknown_field",
                details={"field": name[:80]},
            )


def _purged(entity: Entity, row: Any) -> StoredRecord:
    """The record of an entry whose tombstone was purged, as the conflict met it."""
    return records.purged(
        entity.name, row["record_id"], row["server"], row["user_id"], row["server_version"]
    )


def _situation(row: Any, current: StoredRecord) -> Situation:
    """D as the conflict met it, meeting the record as it is now, under the conflict's
    own policy and detection."""
    device, base = row["device"], row["base"]
    known = base is not None and device is not None
    return current.met_by(
        Policy(row["policy"]),
        Detection(row["detection"]),
        Op.DELETE if device is None else Op.UPDATE,
        device,
        differing(base, device) if known else frozenset(row["fields"]),
        row["base_version"] or 0,
    )


def _meet_again(
    conn: Connection,
    admin: Principal,
    entry: journal.JournalEntry,
    entity: Entity,
    situation: Situation,
    current: StoredRecord,
) -> Superseded:
    """Supersede a conflict the server changed since, and meet D with the newest version:
    a new open conflict, unless nothing is left to decide (both sides deleted the
    record, or under field detection no overlapping change is left), which settles it:
    the superseded entry then keeps what that wrote as its result."""
    row = entry.row
    outcome = resolve(situation)
    written = _write(conn, admin, entity, current, outcome)
    change = journal.ConflictingChange(
        entity=row["entity"],
        record_id=row["record_id"],
        change_id=row["change_id"],
        base=row["base"],
        base_version=row["base_version"],
        server_version=current.version,
        user_id=row["user_id"],
        device_id=row["device_id"],
    )
    again = None
    if outcome.is_conflict:
        again = journal.new_entry(change, situation, outcome, now(), written.version)
    with bulk.QueuedWrites(conn) as writes:
        settled = None if again is not None else (outcome, written.version)
        journal.supersede(writes, entry.state, admin.user_id, settled=settled)
        if again is not None:
            journal.queue(writes, again)
    return Superseded(entry.id, None if again is None else again["id"])


def _write(
    conn: Connection, admin: Principal, entity: Entity, current: StoredRecord, outcome: Outcome
) -> StoredRecord:
    """Write an outcome that changes the record, once it is checked as the back
    office's own writes are (what it changes of the server's record, and the whole);
    the record as the outcome left it."""
    if not outcome.changed:
        return current
    if outcome.result is not None:
        before = {} if current.deleted else current.data
        changed = {
            name: value
            for name, value in outcome.result.items()
            if entity.field(name) is not None and before.get(name) != value
        }  # a field the entity dropped since the conflict opened is not checked
        check = crm.may_point_at(conn, admin, projects.current(conn))
        try:
            check_record(entity, changed, outcome.result, check)
        except ValidationFailed as failure:
            raise as_api_error(failure) from None
    return records.save(
        conn, entity, current.id, outcome.result, actor=admin.user_id, current=current
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
    lost = _not_held(conn, row["entity"], row["record_id"], lost)
    if not lost:
        raise Conflict("the record holds these values already", code="nothing_to_restore")
    last = row["server"] if row["result"] is None else row["result"]
    purged = crm.Purged(last, owner_id=row["user_id"])  # should its tombstone be gone
    stored = crm.write_values(conn, admin, row["entity"], row["record_id"], lost, purged)
    journal.mark_restored(conn, entry.id, admin.user_id)
    return stored


def _not_held(
    conn: Connection, entity: str, record_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """The `values` the record does not hold now (all of them when it is deleted): a
    restore writes no version that changes nothing, such as a second one of an entry."""
    current = records.get(conn, entity, record_id)
    if current is None or current.deleted:
        return values
    return {f: v for f, v in values.items() if current.data.get(f) != v}


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
            sa.select(schema.journal.c.device_id, sa.func.count())
            .where(schema.journal.c.status == ConflictState.OPEN.value)
            .group_by(schema.journal.c.device_id)
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
