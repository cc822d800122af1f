"""Scope changes: what a device must receive when an entity's sync filter changes.

Publishing a project that changes a filter (an entity added or dropped counts, as
`none` on the side it is missing from) stores a **scope change** under the next
version of the records' counter, so it becomes visible in commit order like any
record write. A pull whose cursor is older than a scope change first sends the
**difference** between the scope the device holds and the current one, then the
usual changes after its cursor:

- a widened filter (none → owned → all) sends the records it adds whose version is
  not after the cursor (newer ones come the usual way);
- a narrowed filter sends every record it takes away as `deleted: true`.

Filters nest (`none` ⊂ `owned` ⊂ `all`), so each change of an entity does one or
the other. The difference is walked in version order, like the usual changes, so
its progress is one version in the cursor (see `cursors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.project import Project, SyncFilter
from fieldsync.server import schema, versions
from fieldsync.server.schema import scope_changes, scope_exits
from fieldsync.server.users import Principal
from fieldsync.wire import PulledChange, stored_values

_WIDTH = {SyncFilter.NONE: 0, SyncFilter.OWNED: 1, SyncFilter.ALL: 2}


@dataclass(frozen=True)
class Shift:
    """One entity's filter as a device holds it (`old`) and as it is now (`new`)."""

    entity: str
    old: SyncFilter
    new: SyncFilter

    @property
    def widens(self) -> bool:
        """True when the new filter lets more records in than the old one."""
        return _WIDTH[self.new] > _WIDTH[self.old]


def _filter(project: Project | None, name: str) -> SyncFilter:
    entity = None if project is None else project.entity(name)
    return SyncFilter.NONE if entity is None else entity.sync_filter


def note(conn: Connection, before: Project | None, after: Project) -> None:
    """Store the scope changes of publishing `after` over `before` (inside that write)."""
    if before is None:  # a new database: no device has synced yet
        return
    names = dict.fromkeys(e.name for e in (*before.entities, *after.entities))
    rows = [
        {"entity": n, "old_filter": _filter(before, n).value, "new_filter": _filter(after, n).value}
        for n in names
        if _filter(before, n) is not _filter(after, n)
    ]
    if rows:
        [version] = versions.take(conn, 1)
        conn.execute(sa.insert(scope_changes), [{**row, "version": version} for row in rows])


def since(conn: Connection, version: int, upto: int) -> tuple[int, list[Shift]]:
    """The newest scope change after `version` and up to the watermark `upto` (0: none),
    and the entities whose filter differs at that change from the one in force at
    `version`."""
    t = scope_changes
    rows = conn.execute(
        sa.select(t.c.version, t.c.entity, t.c.old_filter, t.c.new_filter)
        .where(t.c.version > version, t.c.version <= upto)
        .order_by(t.c.version)
    ).all()
    if not rows:
        return 0, []
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for row in rows:
        first.setdefault(row.entity, row.old_filter)
        last[row.entity] = row.new_filter
    shifts = [
        Shift(name, SyncFilter(old), SyncFilter(last[name]))
        for name, old in first.items()
        if old != last[name]
    ]
    return int(rows[-1].version), shifts


def difference(
    conn: Connection,
    user: Principal,
    shifts: list[Shift],
    cursor: int,
    after: int,
    limit: int,
) -> list[PulledChange]:
    """Up to `limit` changes of each shifted entity's difference after record version
    `after`, for a device that read up to `cursor`; sorted by version.

    Every record is sent, whichever device wrote it: a device drops its own records
    when they leave its scope, and needs them back when they return.
    """
    changes: list[PulledChange] = []
    for shift in shifts:
        if shift.widens:
            changes += _arriving(conn, user, shift, cursor, after, limit)
        else:
            changes += _leaving(conn, user, shift, cursor, after, limit)
    changes.sort(key=lambda c: int(c["version"]))
    return changes


def _arriving(
    conn: Connection, user: Principal, shift: Shift, cursor: int, after: int, limit: int
) -> list[PulledChange]:
    t = schema.records
    stored_json = sa.cast(t.c.data, sa.Text)  # passed through as it is stored
    rows = conn.execute(
        sa.select(t.c.id, t.c.version, stored_json)
        .where(
            t.c.entity == shift.entity,
            t.c.version > after,
            t.c.version <= cursor,
            sa.not_(t.c.deleted),
            _added(shift, user),
        )
        .order_by(t.c.version)
        .limit(limit)
    )
    return [
        {
            "entity": shift.entity,
            "id": record_id,
            "version": version,
            "deleted": False,
            "record": stored_values(data),
        }
        for record_id, version, data in rows
    ]


def _leaving(
    conn: Connection, user: Principal, shift: Shift, cursor: int, after: int, limit: int
) -> list[PulledChange]:
    t = schema.records
    rows = conn.execute(
        sa.select(t.c.id, t.c.version)
        .where(
            t.c.entity == shift.entity,
            t.c.version > after,
            sa.or_(sa.not_(t.c.deleted), t.c.version > cursor),  # older tombstones: gone already
            _removed(shift, user, cursor),
        )
        .order_by(t.c.version)
        .limit(limit)
    )
    return [
        PulledChange(entity=shift.entity, id=record_id, version=version, deleted=True, record=None)
        for record_id, version in rows
    ]


def _added(shift: Shift, user: Principal) -> sa.ColumnElement[bool]:
    """The records a widened filter lets in that the old one kept out."""
    owner = schema.records.c.owner_id
    if shift.old is SyncFilter.OWNED:  # owned → all
        return owner != user.user_id
    if shift.new is SyncFilter.OWNED:  # none → owned
        return owner == user.user_id
    return sa.true()  # none → all


def _removed(shift: Shift, user: Principal, cursor: int) -> sa.ColumnElement[bool]:
    """The records a narrowed filter takes out, that the device may hold."""
    t = schema.records
    if shift.new is SyncFilter.OWNED:  # all → owned
        return t.c.owner_id != user.user_id
    if shift.old is SyncFilter.ALL:  # all → none
        return sa.true()
    # owned → none: also the records the user owned at the cursor and has lost since,
    # whose scope exits a `none` entity's pulls no longer send.
    exited = sa.select(scope_exits.c.record_id).where(
        scope_exits.c.user_id == user.user_id,
        scope_exits.c.entity == shift.entity,
        scope_exits.c.version > cursor,
    )
    return sa.or_(t.c.owner_id == user.user_id, t.c.id.in_(exited))


def purge(conn: Connection, upto: int) -> None:
    """Forget the scope changes up to `upto` (cursors that old must resync anyway)."""
    conn.execute(sa.delete(scope_changes).where(scope_changes.c.version <= upto))
