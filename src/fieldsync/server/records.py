"""Stored CRM records: reads, scope, and the one write path that allocates versions.

Every write (a device push, the records API, a console edit, a restore) goes
through `save`, which takes the next value of the global version counter. The
counter row stays locked until the transaction commits, so versions become visible
in the order a pull cursor reads them (invariant 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.clock import now
from fieldsync.conflicts import differing
from fieldsync.project import Entity, SyncFilter
from fieldsync.server.schema import counters, records, scope_exits
from fieldsync.server.users import Principal


@dataclass(frozen=True)
class StoredRecord:
    """A record as the server holds it; a tombstone keeps its last values."""

    entity: str
    id: str
    version: int
    owner_id: str
    deleted: bool
    data: dict[str, Any]
    field_versions: dict[str, int]

    def changed_since(self, version: int) -> frozenset[str]:
        """The fields changed on the server after `version`."""
        return frozenset(f for f, v in self.field_versions.items() if v > version)

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


def from_row(row: Any) -> StoredRecord:
    """A `StoredRecord` from a row of the records table."""
    return StoredRecord(
        entity=row.entity,
        id=row.id,
        version=row.version,
        owner_id=row.owner_id,
        deleted=row.deleted,
        data=row.data,
        field_versions=row.field_versions,
    )


def get(conn: Connection, entity: str, record_id: str) -> StoredRecord | None:
    """One record (or tombstone), if it exists."""
    row = conn.execute(
        sa.select(records).where(records.c.entity == entity, records.c.id == record_id)
    ).first()
    return from_row(row) if row else None


def may_see(user: Principal, entity: Entity, record: StoredRecord) -> bool:
    """True when the record is in the user's scope (admins see everything)."""
    if user.is_admin or entity.sync_filter is SyncFilter.ALL:
        return True
    return record.owner_id == user.user_id


def is_live_parent(
    conn: Connection, user: Principal, target: Entity | None, target_id: str
) -> bool:
    """True when a lookup may point at `target_id`: it exists, is not deleted, is in scope."""
    if target is None:
        return False
    parent = get(conn, target.name, target_id)
    return parent is not None and not parent.deleted and may_see(user, target, parent)


def scope_clause(user: Principal, entity: Entity) -> sa.ColumnElement[bool]:
    """The WHERE clause of the records of `entity` in the user's scope."""
    clause = records.c.entity == entity.name
    if user.is_admin or entity.sync_filter is SyncFilter.ALL:
        return clause
    return sa.and_(clause, records.c.owner_id == user.user_id)


def next_version(conn: Connection) -> int:
    """Take the next global version; the counter row stays locked until commit."""
    return int(
        conn.execute(
            sa.update(counters)
            .where(counters.c.name == "version")
            .values(value=counters.c.value + 1)
            .returning(counters.c.value)
        ).scalar_one()
    )


def current_version(conn: Connection) -> int:
    """The newest version handed out."""
    return int(
        conn.execute(sa.select(counters.c.value).where(counters.c.name == "version")).scalar_one()
    )


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
    """Write a new state of a record (`values` None deletes it) under a new version."""
    version = next_version(conn)
    stamp = now()
    if values is None:
        assert current is not None, "only an existing record can be deleted"
        data, field_versions = current.data, current.field_versions
    else:
        before = None if current is None or current.deleted else current.data
        data = {name: values.get(name) for name in entity.field_names}
        old_versions = current.field_versions if current else {}
        field_versions = {**old_versions, **{f: version for f in differing(before, data)}}
    owner = owner_id or (current.owner_id if current else actor)
    row = {
        "version": version,
        "owner_id": owner,
        "deleted": values is None,
        "data": data,
        "field_versions": field_versions,
        "updated_at": stamp,
        "updated_by": actor,
    }
    if current is None:
        conn.execute(
            sa.insert(records).values(entity=entity.name, id=record_id, created_at=stamp, **row)
        )
    else:
        conn.execute(
            sa.update(records)
            .where(records.c.entity == entity.name, records.c.id == record_id)
            .values(**row)
        )
        if owner != current.owner_id:
            conn.execute(
                sa.insert(scope_exits).values(
                    user_id=current.owner_id,
                    version=version,
                    entity=entity.name,
                    record_id=record_id,
                )
            )
    return StoredRecord(
        entity.name, record_id, version, owner, values is None, data, field_versions
    )
