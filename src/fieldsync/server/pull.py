"""`GET /v1/sync/pull`: the latest state of each record changed after a cursor, in commit order.

The cursor names the last version the device has read (see `cursors`); a pull reads
no further than the watermark, below which no version can still commit (`versions`).
Records of `all` entities and the user's own records of `owned` entities come in
version order; a record that left the user's scope (its owner changed) comes as a
deletion. When a sync filter changed after the cursor, the difference it makes comes
first (see `scopes`).

A page holds at most `limit` changes and, past its first change, at most `max_bytes`
bytes of JSON, so that no page takes minutes on a slow link.

`totals` counts what a download from an empty cursor brings, per entity, so that a
device can show "3,200 of 10,000 records" while it downloads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.errors import Gone
from fieldsync.project import Entity, Project, SyncFilter
from fieldsync.server import schema, scopes, tombstones
from fieldsync.server.cursors import Position
from fieldsync.server.schema import scope_exits
from fieldsync.server.users import Principal
from fieldsync.server.versions import Watermark
from fieldsync.wire import PulledChange, stored_values

DEFAULT_PAGE_BYTES = 4 * 1024 * 1024
# The JSON of a change around its record's (keys, id, version, flags), about.
ENVELOPE = 100
Sized = tuple[int, PulledChange]  # a change and the bytes of its JSON, about


@dataclass(frozen=True)
class PulledChanges:
    """One page of pulled changes."""

    changes: list[PulledChange]
    cursor: Position
    more: bool


def pull(
    conn: Connection,
    user: Principal,
    project: Project,
    position: Position,
    watermark: Watermark,
    limit: int,
    skip_device: str | None = None,
    max_bytes: int = DEFAULT_PAGE_BYTES,
) -> PulledChanges:
    """The next page after `position` of what `user` may see, up to `watermark`.

    With `skip_device`, records that device wrote last are passed over (it has them
    from its push results), though the cursor still moves past them. `conn` must see
    one state of the database throughout, and `watermark` must be read before it
    (`Database.snapshot` gives both).
    """
    cursor, newest = position.version, watermark.settled
    if max(cursor, position.scope, position.target, position.after) > watermark.issued or (
        0 < cursor < tombstones.horizon(conn)
    ):
        raise Gone("the cursor is too old or unknown; download everything again")
    target, shifts = scopes.since(conn, position.scope_version, newest)
    if position.target and target != position.target:
        raise Gone("the sync filters changed again meanwhile; download everything again")
    if not target or cursor == 0:  # a device that holds nothing needs no difference
        position = replace(position, scope=max(position.scope, target))
        budget = Budget(limit, max_bytes)
        return _changes(conn, user, project, position, newest, budget, skip_device, [])
    start = position.after if position.target else 0
    difference = scopes.difference(conn, user, shifts, cursor, start, limit + 1)
    sizes = [len(orjson.dumps(c)) for c in difference[:limit]]
    fitting = fitting_count(sizes, max_bytes, at_least=1)
    if len(difference) > fitting:
        last = int(difference[fitting - 1]["version"])
        return PulledChanges(
            difference[:fitting], Position(cursor, position.scope, target, last), True
        )
    done = Position(cursor, target)
    if len(difference) == limit:
        return PulledChanges(difference, done, True)
    budget = Budget(limit - len(difference), max_bytes - sum(sizes))
    return _changes(conn, user, project, done, newest, budget, skip_device, difference)


@dataclass(frozen=True)
class Budget:
    """What is left of a page: changes, and bytes."""

    changes: int
    bytes: int


def fitting_count(sizes: list[int], max_bytes: int, at_least: int) -> int:
    """How many changes of these `sizes`, from the first, fit in `max_bytes` (`at_least`
    of them whatever their size)."""
    total = 0
    for n, size in enumerate(sizes):
        total += size
        if total > max_bytes and n >= at_least:
            return n
    return len(sizes)


def _changes(
    conn: Connection,
    user: Principal,
    project: Project,
    position: Position,
    newest: int,
    budget: Budget,
    skip_device: str | None,
    first: list[PulledChange],
) -> PulledChanges:
    """The usual changes after `position.version`, within what the changes `first`
    left of the page."""
    cursor, room = position.version, budget.changes
    owned = [e.name for e in project.entities if e.sync_filter is SyncFilter.OWNED]
    upto = (cursor, newest)
    changes = _records(conn, user, project, upto, room + 1, skip_device)
    changes += _exits(conn, user, owned, upto, room + 1)
    changes.sort(key=lambda sized: int(sized[1]["version"]))
    fitting = fitting_count([size for size, _ in changes[:room]], budget.bytes, 0 if first else 1)
    page, more = [change for _, change in changes[:fitting]], len(changes) > fitting
    # A page that is not full holds every change up to `newest`, the watermark (no
    # version below it can still commit), so the cursor passes the skipped ones.
    last = int(page[-1]["version"]) if page else cursor
    version = last if more else max(last, newest)
    scope = position.scope if position.scope > version else 0
    return PulledChanges(first + page, Position(version, scope), more)


def scope(entity: Entity, user: Principal, skip_device: str | None) -> sa.ColumnElement[bool]:
    """The records of `entity` that `user`'s devices receive (none under `none`), less
    those device `skip_device` wrote."""
    t = schema.records
    clause = t.c.entity == entity.name
    if entity.sync_filter is SyncFilter.NONE:
        clause = sa.false()
    elif entity.sync_filter is SyncFilter.OWNED:
        clause = sa.and_(clause, t.c.owner_id == user.user_id)
    if skip_device is not None:
        clause = sa.and_(clause, t.c.written_by_device.is_distinct_from(skip_device))
    return clause


def pulled(entity: str, record_id: str, version: int, data: str | None) -> Sized:
    """A change as a pull sends it, `data` its stored JSON (None: deleted), and its size."""
    change: PulledChange = {
        "entity": entity,
        "id": record_id,
        "version": version,
        "deleted": data is None,
        "record": None if data is None else stored_values(data),
    }
    return (ENVELOPE if data is None else ENVELOPE + len(data)), change


def _records(
    conn: Connection,
    user: Principal,
    project: Project,
    upto: tuple[int, int],
    limit: int,
    skip_device: str | None,
) -> list[Sized]:
    """The next changes, one index range per entity (an OR of scopes would sort them all)."""
    t = schema.records
    synced = [e for e in project.entities if e.sync_filter is not SyncFilter.NONE]
    stored_json = sa.cast(t.c.data, sa.Text)  # passed through as it is stored, not decoded
    changes: list[Sized] = []
    for entity in synced:
        rows = conn.execute(
            sa.select(t.c.entity, t.c.id, t.c.version, t.c.deleted, stored_json)
            .where(scope(entity, user, skip_device), t.c.version > upto[0], t.c.version <= upto[1])
            .order_by(t.c.version)
            .limit(limit)
        )
        changes += [
            pulled(name, record_id, version, None if deleted else data)
            for name, record_id, version, deleted, data in rows
        ]
    return changes


def _exits(
    conn: Connection, user: Principal, owned: list[str], upto: tuple[int, int], limit: int
) -> list[Sized]:
    t = scope_exits
    rows = conn.execute(
        sa.select(t.c.entity, t.c.record_id, t.c.version)
        .where(
            t.c.user_id == user.user_id,
            t.c.version > upto[0],
            t.c.version <= upto[1],
            t.c.entity.in_(owned),
        )
        .order_by(t.c.version)
        .limit(limit)
    )
    return [pulled(r.entity, r.record_id, r.version, None) for r in rows]


def totals(
    conn: Connection, user: Principal, project: Project, skip_device: str | None = None
) -> dict[str, int]:
    """How many changes a pull from an empty cursor brings in all, per entity: every
    record `user` may see (deleted ones as deletions) and every record that left their
    scope. `conn` must be the pull's snapshot, so the count matches its pages."""
    t = schema.records
    owned = [e.name for e in project.entities if e.sync_filter is SyncFilter.OWNED]
    seen = sa.or_(sa.false(), *(scope(e, user, skip_device) for e in project.entities))
    counts: dict[str, int] = {}
    exits = scope_exits
    for query in (
        sa.select(t.c.entity, sa.func.count()).where(seen, t.c.version > 0).group_by(t.c.entity),
        sa.select(exits.c.entity, sa.func.count())
        .where(exits.c.user_id == user.user_id, exits.c.version > 0, exits.c.entity.in_(owned))
        .group_by(exits.c.entity),
    ):
        for entity, n in conn.execute(query):
            counts[entity] = counts.get(entity, 0) + n
    return counts
