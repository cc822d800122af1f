"""`GET /v1/sync/pull?first=true`: what a field worker needs first on a new device.

A first download of a large scope takes long on a slow link. Before it, a device may
ask for the **first screen**: of the live records the user's devices receive (the
ordinary pull's scope, to the record), those the user owns, and those of an entity
with an `upcoming_field` dated today or later there (today's and upcoming
appointments). Upcoming records come first, soonest first, then the user's own,
newest first; one page, cut by `limit` and `max_bytes` as any pull page. When these
records (all of them, not only the page's) are more than a quarter of the whole
download (a worker whose scope is mostly their own), the page is empty: the
download's first pages bring them about as soon, and they would come twice.

The answer has no cursor of its own: it names the empty cursor, with `more`, and the
device goes on with the ordinary download from the start. That download brings these
records again at the versions they have or newer, so the device's cursor, resuming,
the 410 and the watermark are the ordinary pull's alone.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.project import Entity, Project, SyncFilter
from fieldsync.server import pull, schema
from fieldsync.server.users import Principal
from fieldsync.wire import PulledChange

# A first screen is sent when the whole download is at least this many times larger.
SHARE = 4
SLICE_BOUND = 100_000  # a first screen counted this far is large enough to pay


class Found(NamedTuple):
    """A record of the first screen, its stored JSON as it is, and when it is due
    (upcoming records) or "" (the user's own)."""

    entity: str
    id: str
    version: int
    data: str
    due: str = ""


def first_screen(
    conn: Connection,
    user: Principal,
    project: Project,
    today: date,
    budget: pull.Budget,
    skip_device: str | None = None,
) -> list[PulledChange]:
    """The first screen of `user`: their upcoming records, then their own, within `budget`."""
    synced = [e for e in project.entities if e.sync_filter is not SyncFilter.NONE]
    if not _worth_it(conn, user, synced, today, skip_device):
        return []  # none, or most of the download: it comes about as soon, and would come twice
    rows = _upcoming(conn, user, synced, today, budget.changes, skip_device)
    rows += _owned(conn, user, synced, budget.changes, skip_device)
    chosen = _once(rows)[: budget.changes]
    sizes = [pull.ENVELOPE + len(row.data) for row in chosen]
    fitting = chosen[: pull.fitting_count(sizes, budget.bytes, 1)]
    return [pull.pulled(row.entity, row.id, row.version, row.data)[1] for row in fitting]


def _once(rows: list[Found]) -> list[Found]:
    """Each record once, at its first place: an own upcoming one among the upcoming."""
    unique: dict[tuple[str, str], Found] = {}
    for row in rows:
        unique.setdefault((row.entity, row.id), row)
    return list(unique.values())


def _live(entity: Entity, user: Principal, skip_device: str | None) -> sa.ColumnElement[bool]:
    return sa.and_(pull.scope(entity, user, skip_device), sa.not_(schema.records.c.deleted))


def _worth_it(
    conn: Connection, user: Principal, entities: list[Entity], today: date, skip: str | None
) -> bool:
    """True when there is a first screen and a download from the empty cursor brings
    SHARE times its records (all of them, not only its page's) or more. Counted no
    further than needed: the first screen up to SLICE_BOUND (an own upcoming record
    twice), the download up to SHARE times that."""
    t = schema.records
    parts = [sa.and_(_live(e, user, skip), t.c.owner_id == user.user_id) for e in entities]
    parts += [
        sa.and_(_live(e, user, skip), _due(e) >= today.isoformat())
        for e in entities
        if e.upcoming_field is not None
    ]
    wanted = SHARE * sum(_count(conn, part, SLICE_BOUND) for part in parts)
    if not wanted:
        return False
    download = sa.or_(*(pull.scope(entity, user, skip) for entity in entities))
    return _count(conn, download, wanted) >= wanted


def _count(conn: Connection, where: sa.ColumnElement[bool], bound: int) -> int:
    """How many records match `where`, counted up to `bound`."""
    t = schema.records
    some = sa.select(t.c.id).where(where, t.c.version > 0).limit(bound).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(some)).scalar_one())


def _due(entity: Entity) -> sa.ColumnElement[str]:
    """The value of the entity's `upcoming_field`, as stored."""
    due: sa.ColumnElement[str] = schema.records.c.data[str(entity.upcoming_field)].as_string()
    return due


def _select(*more: sa.ColumnElement[str]) -> sa.Select[Any]:
    t = schema.records
    stored_json = sa.cast(t.c.data, sa.Text)  # passed through as it is stored, not decoded
    return sa.select(t.c.entity, t.c.id, t.c.version, stored_json, *more)


def _upcoming(
    conn: Connection,
    user: Principal,
    entities: list[Entity],
    today: date,
    limit: int,
    skip_device: str | None,
) -> list[Found]:
    """Records dated `today` or later in their entity's `upcoming_field`, soonest first.

    Values are compared as written: an ISO date, or a date and time, from its
    `YYYY-MM-DD` on (the day as the record says it, whatever its offset).
    """
    rows: list[Found] = []
    for entity in entities:
        if entity.upcoming_field is None:
            continue
        due = _due(entity)
        query = (
            _select(due)
            .where(_live(entity, user, skip_device), due >= today.isoformat())
            .order_by(due)
            .limit(limit)
        )
        rows += [Found(*row) for row in conn.execute(query)]
    rows.sort(key=lambda row: row.due)
    return rows[:limit]


def _owned(
    conn: Connection,
    user: Principal,
    entities: list[Entity],
    limit: int,
    skip_device: str | None,
) -> list[Found]:
    """The user's own live records, newest first (one index range per entity)."""
    t = schema.records
    rows: list[Found] = []
    for entity in entities:
        query = (
            _select()
            .where(_live(entity, user, skip_device), t.c.owner_id == user.user_id)
            .order_by(t.c.version.desc())
            .limit(limit)
        )
        rows += [Found(*row) for row in conn.execute(query)]
    rows.sort(key=lambda row: -row.version)
    return rows[:limit]
