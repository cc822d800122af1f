"""Stored CRM records: reads, scope, and the one write path that allocates versions.

Every write (a device push, the records API, a console edit, a restore) goes
through a `Writer`, which takes new versions (see `versions`: how a pull reads
only those that no transaction still writing can precede: invariant 5 of
docs/design.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.clock import now
from fieldsync.conflicts import Op, Situation, Values, differing
from fieldsync.project import Detection, Entity, Policy, SyncFilter
from fieldsync.server import bulk, versions
from fieldsync.server.schema import records, scope_exits
from fieldsync.server.users import Principal
from fieldsync.validation import normalize


class StoredRecord(NamedTuple):
    """A record as the server holds it; a tombstone keeps its last values.

    `purged` marks a stand-in for a tombstone that was purged (see `purged`): it is
    not stored, and writing over it inserts the record again.

    Immutable (a NamedTuple: a push makes two for each change, and a NamedTuple is
    cheaper to make than a frozen dataclass)."""

    entity: str
    id: str
    version: int
    owner_id: str
    deleted: bool
    data: dict[str, Any]
    field_versions: dict[str, int]
    purged: bool = False

    def changed_since(self, version: int) -> frozenset[str]:
        """The fields changed on the server after `version`."""
        return frozenset(f for f, v in self.field_versions.items() if v > version)

    def met_by(
        self,
        policy: Policy,
        detection: Detection,
        op: Op,
        device: Values | None,
        device_changed: frozenset[str],
        base_version: int,
    ) -> Situation:
        """A device change, made on `base_version` of this record, meeting it as it is
        now, under `policy` and `detection` (`conflicts.resolve` decides what becomes
        of it)."""
        modified = self.version > base_version
        return Situation(
            policy=policy,
            detection=detection,
            op=op,
            device=device,
            device_changed=device_changed,
            server=self.data,
            server_deleted=self.deleted,
            server_modified=modified,
            # No field is newer than its record: an unmodified record changed nothing.
            server_changed=self.changed_since(base_version) if modified else frozenset(),
        )

    def to_wire(self) -> dict[str, Any]:
        """The record as the records API shows it (owner as id; see `api.records`)."""
        return {
            "entity": self.entity,
            "id": self.id,
            "version": self.version,
            "owner": self.owner_id,
            "deleted": self.deleted,
            "record": self.data,
        }


# The columns of a `StoredRecord`, in its field order: select them, and make each
# row into one with `stored_record`.
STORED = (
    records.c.entity,
    records.c.id,
    records.c.version,
    records.c.owner_id,
    records.c.deleted,
    records.c.data,
    records.c.field_versions,
)
_STORED_NAMES = tuple(c.name for c in STORED)
KEY = ("entity", "id")


def stored_record(row: Sequence[Any]) -> StoredRecord:
    """A `StoredRecord` from a row of the `STORED` columns, as SQLAlchemy or the driver
    gave it (the driver: JSON as text on SQLite, booleans as 0 and 1)."""
    entity, record_id, version, owner, deleted, data, versions = row
    return StoredRecord(
        entity,
        record_id,
        version,
        owner,
        bool(deleted),
        bulk.json_value(data),
        bulk.json_value(versions),
    )


def purged(
    entity: str, record_id: str, last: Mapping[str, Any], owner_id: str, version: int = 0
) -> StoredRecord:
    """A stand-in for the purged tombstone of a record the server no longer has: deleted,
    with its last values as known elsewhere (a device's base, the journal), as of
    `version`, owned by `owner_id` should it be re-created."""
    return StoredRecord(entity, record_id, version, owner_id, True, dict(last), {}, purged=True)


def get(conn: Connection, entity: str, record_id: str) -> StoredRecord | None:
    """One record (or tombstone), if it exists."""
    return get_many(conn, [(entity, record_id)]).get((entity, record_id))


def may_see(user: Principal, entity: Entity, record: StoredRecord) -> bool:
    """True when the record is in the user's scope (admins see everything)."""
    if user.is_admin or entity.sync_filter is SyncFilter.ALL:
        return True
    return record.owner_id == user.user_id


def may_sync(user: Principal, entity: Entity | None, record: StoredRecord) -> bool:
    """True when the record may reach the user's devices: in scope, of a synced entity."""
    if entity is None or entity.sync_filter is SyncFilter.NONE:
        return False
    return may_see(user, entity, record)


def is_live_parent(user: Principal, target: Entity | None, parent: StoredRecord | None) -> bool:
    """True when a lookup may point at `parent`: it exists, is not deleted, is in scope."""
    if target is None or parent is None:
        return False
    return not parent.deleted and may_see(user, target, parent)


def scope_clause(user: Principal, entity: Entity) -> sa.ColumnElement[bool]:
    """The WHERE clause of the records of `entity` in the user's scope."""
    clause = records.c.entity == entity.name
    if user.is_admin or entity.sync_filter is SyncFilter.ALL:
        return clause
    return sa.and_(clause, records.c.owner_id == user.user_id)


def get_many(
    conn: Connection, keys: list[tuple[str, str]], *, lock: bool = False
) -> dict[tuple[str, str], StoredRecord]:
    """The records (and tombstones) among `keys` that exist, in few queries; with `lock`,
    locked until the transaction ends (PostgreSQL), in one order whoever asks, so
    that two writers of the same records wait for each other instead of deadlocking."""
    by_entity: dict[str, list[str]] = {}
    for entity, record_id in sorted(keys):
        by_entity.setdefault(entity, []).append(record_id)
    found: dict[tuple[str, str], StoredRecord] = {}
    for entity, ids in by_entity.items():
        among = ("id", ids)
        rows = bulk.select_among(conn, records, _STORED_NAMES, among, ("entity", entity), lock)
        found |= {(r[0], r[1]): stored_record(r) for r in rows}
    return found


def save(
    conn: Connection,
    entity: Entity,
    record_id: str,
    values: Mapping[str, Any] | None,
    *,
    actor: str,
    current: StoredRecord | None,
    owner_id: str | None = None,
) -> StoredRecord:
    """Write a new state of a record (`values` None deletes it) under a new version, now."""
    with bulk.QueuedWrites(conn) as writes:
        writer = Writer(writes)
        stored = writer.save(
            entity, record_id, values, actor=actor, current=current, owner_id=owner_id
        )
        writer.flush()
    return stored


class Writer:
    """The record writes of one write transaction, queued on its `bulk.QueuedWrites`
    and written by `flush()`.

    Versions come from a `versions.Allocator`; `expected` says how many records the
    transaction may write (a push: one per change).
    """

    def __init__(
        self, writes: bulk.QueuedWrites, device_id: str | None = None, expected: int = 1
    ) -> None:
        self.writes = writes
        self.device_id = device_id  # the pushing device, whose pulls skip these writes
        self.versions = versions.Allocator(writes.conn, expected)
        self.exits: list[dict[str, Any]] = []
        self.written: dict[tuple[str, str], StoredRecord] = {}
        self.stamp = now()

    def save(
        self,
        entity: Entity,
        record_id: str,
        values: Mapping[str, Any] | None,
        *,
        actor: str,
        current: StoredRecord | None,
        owner_id: str | None = None,
    ) -> StoredRecord:
        """Queue a new state of a record (`values` None deletes it) under the next version."""
        if self.versions.empty:
            self.versions.take_more(self.writes.conn)
        version = self.versions.next()
        stored = _next_state(entity, record_id, values, actor, current, owner_id, version)
        row = {
            "version": stored.version,
            "owner_id": stored.owner_id,
            "deleted": stored.deleted,
            "data": stored.data,
            "field_versions": stored.field_versions,
            "updated_at": self.stamp,
            "updated_by": actor,
            "written_by_device": self.device_id,
        }
        if current is None or current.purged:
            new = {"entity": entity.name, "id": record_id, "created_at": row["updated_at"], **row}
            self.writes.queue_insert(records, new)
        else:
            self.writes.queue_update(records, KEY, {**row, "entity": entity.name, "id": record_id})
            if stored.owner_id != current.owner_id:
                self.exits.append(
                    {
                        "user_id": current.owner_id,
                        "version": stored.version,
                        "entity": entity.name,
                        "record_id": record_id,
                    }
                )
        self.written[(entity.name, record_id)] = stored
        return stored

    def flush(self) -> None:
        """Write what is queued and store the newest version."""
        self.writes.flush()
        conn = self.writes.conn
        if self.exits:
            conn.execute(sa.insert(scope_exits), self.exits)
        if self.written:
            self.versions.finish(conn)
        self.exits, self.written = [], {}


def _next_state(
    entity: Entity,
    record_id: str,
    values: Mapping[str, Any] | None,
    actor: str,
    current: StoredRecord | None,
    owner_id: str | None,
    version: int,
) -> StoredRecord:
    if values is None:
        assert current is not None, "only an existing record can be deleted"
        data, field_versions = current.data, current.field_versions
    else:
        before = None if current is None or current.deleted else current.data
        data = normalize(entity, values)
        old_versions = current.field_versions if current else {}
        field_versions = {**old_versions, **dict.fromkeys(differing(before, data), version)}
    owner = owner_id or (current.owner_id if current else actor)
    return StoredRecord(
        entity.name, record_id, version, owner, values is None, data, field_versions
    )
