"""The CRM side: back-office reads and writes of records (the "server" in Server Wins).

Writes go through `records.save` (a `records.Writer`) like device changes, so they
get versions, field versions and scope exactly as pushes do. `If-Match` carries an
expected version.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync import ids, sql
from fieldsync.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    as_api_error,
)
from fieldsync.project import Entity, Project
from fieldsync.server import projects, records, schema
from fieldsync.server.records import StoredRecord
from fieldsync.server.users import Principal
from fieldsync.validation import ParentCheck, check_record, is_uuid, normalize


def _visible(conn: Connection, user: Principal, entity: Entity, record_id: str) -> StoredRecord:
    found = records.get(conn, entity.name, record_id) if is_uuid(record_id) else None
    if found is None or not records.may_see(user, entity, found):
        raise NotFound(f"no {entity.name} {record_id!r:.80}", code="unknown_record")
    return found


def _check_if_match(found: StoredRecord, if_match: str | None) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    if if_match.strip().removeprefix("W/").strip('"') != str(found.version):
        raise PreconditionFailed(
            f"the record is at version {found.version}; reload it and try again",
            details={"version": found.version},
        )


def _validated(
    conn: Connection,
    user: Principal,
    project: Project,
    entity: Entity,
    values: Mapping[str, Any],
    before: StoredRecord | None,
) -> dict[str, Any]:
    merged = normalize(entity, {**(before.data if before else {}), **values})
    try:
        check_record(entity, values, merged, may_point_at(conn, user, project))
    except ValidationFailed as failure:
        raise as_api_error(failure) from None
    return merged


def may_point_at(conn: Connection, user: Principal, project: Project) -> ParentCheck:
    """Whether a record `user` writes may point at another: it exists, is not deleted,
    and is in the user's scope."""

    def check(target: str, target_id: str) -> bool:
        parent = records.get(conn, target, target_id)
        return records.is_live_parent(user, project.entity(target), parent)

    return check


def read(conn: Connection, user: Principal, entity_name: str, record_id: str) -> StoredRecord:
    """One record in the user's scope (tombstones included), or 404."""
    return _visible(conn, user, projects.entity(conn, entity_name), record_id)


def listing(
    conn: Connection,
    user: Principal,
    entity_name: str,
    *,
    limit: int,
    offset: int,
    deleted: bool = False,
    search: str | None = None,
) -> list[StoredRecord]:
    """The records of an entity in the user's scope, newest change first.

    `search` keeps the records with the text in any value (case-insensitive).
    """
    entity = projects.entity(conn, entity_name)
    t = schema.records
    query = sa.select(*records.STORED).where(records.scope_clause(user, entity))
    if not deleted:
        query = query.where(t.c.deleted.is_(False))
    if search:
        pattern = sql.containing(search)
        query = query.where(sa.cast(t.c.data, sa.Text).ilike(pattern, escape=sql.LIKE_ESCAPE))
    rows = conn.execute(query.order_by(t.c.version.desc()).limit(limit).offset(offset))
    return [records.stored_record(r) for r in rows]


def create(
    conn: Connection, user: Principal, entity_name: str, values: Mapping[str, Any]
) -> StoredRecord:
    """A new record; `values` may carry the client's `id`."""
    project = projects.current(conn)
    entity = projects.entity_in(project, entity_name)
    fields = dict(values)
    given = fields.pop("id", None)
    record_id = _canonical_id(given) if given else ids.time_ordered()
    if records.get(conn, entity.name, record_id) is not None:
        raise Conflict(f"a {entity.name} with id {record_id} exists already", code="already_exists")
    data = _validated(conn, user, project, entity, fields, None)
    return records.save(conn, entity, record_id, data, actor=user.user_id, current=None)


def _canonical_id(given: Any) -> str:
    """A client's record id in the form ids are stored in (lower case, dashed), or 400."""
    try:
        return str(uuid.UUID(str(given)))
    except ValueError:
        raise BadRequest("id must be a UUID", code="bad_id") from None


def update(
    conn: Connection,
    user: Principal,
    entity_name: str,
    record_id: str,
    values: Mapping[str, Any],
    if_match: str | None,
) -> StoredRecord:
    """Change some fields of a live record."""
    project = projects.current(conn)
    entity = projects.entity_in(project, entity_name)
    found = _visible(conn, user, entity, record_id)
    if found.deleted:
        raise NotFound(f"{entity.name} {record_id} was deleted", code="record_deleted")
    _check_if_match(found, if_match)
    data = _validated(conn, user, project, entity, values, found)
    if data == found.data:
        return found
    return records.save(conn, entity, record_id, data, actor=user.user_id, current=found)


def delete(
    conn: Connection, user: Principal, entity_name: str, record_id: str, if_match: str | None
) -> StoredRecord:
    """Delete a record, keeping a tombstone with its last values."""
    entity = projects.entity(conn, entity_name)
    found = _visible(conn, user, entity, record_id)
    if found.deleted:
        raise NotFound(f"{entity.name} {record_id} was deleted", code="record_deleted")
    _check_if_match(found, if_match)
    return records.save(conn, entity, record_id, None, actor=user.user_id, current=found)


class Purged(NamedTuple):
    """What stands for a record whose tombstone was purged: its last values as known
    elsewhere (the journal), and whose it becomes when re-created."""

    last: Mapping[str, Any]
    owner_id: str


def write_values(
    conn: Connection,
    user: Principal,
    entity_name: str,
    record_id: str,
    values: Mapping[str, Any],
    purged: Purged | None = None,
) -> StoredRecord:
    """Write `values` over a record, re-creating it if it was deleted (used by restore).

    With `purged`, a record whose tombstone was purged is re-created too, from its
    last values laid under `values`.
    """
    project = projects.current(conn)
    entity = projects.entity_in(project, entity_name)
    if purged is not None and records.get(conn, entity.name, record_id) is None:
        found = records.purged(entity.name, record_id, purged.last, purged.owner_id)
    else:
        found = _visible(conn, user, entity, record_id)
    data = _validated(conn, user, project, entity, values, found)
    return records.save(conn, entity, record_id, data, actor=user.user_id, current=found)


def assign(
    conn: Connection, user: Principal, entity_name: str, record_id: str, owner_id: str
) -> StoredRecord:
    """Give a record to another owner (admins, or the current owner); it leaves old scopes."""
    entity = projects.entity(conn, entity_name)
    found = _visible(conn, user, entity, record_id)
    if found.deleted:
        raise NotFound(f"{entity.name} {record_id} was deleted", code="record_deleted")
    if not user.is_admin and found.owner_id != user.user_id:
        raise Forbidden("only the owner or an admin may assign this record", code="not_owner")
    if owner_id == found.owner_id:
        return found
    return records.save(
        conn, entity, record_id, found.data, actor=user.user_id, current=found, owner_id=owner_id
    )
