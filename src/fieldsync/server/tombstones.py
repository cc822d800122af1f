"""Purging old tombstones, and the horizon that tells devices with older cursors to resync.

A deleted record keeps a tombstone so that devices learn of the delete. Once a
tombstone is older than the retention the operator chose, it is purged; the
newest purged version becomes the **horizon**, and a pull whose cursor is older
answers `410 resync_required` (the device downloads everything again, keeping its
unsynced edits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.clock import stamp
from fieldsync.conflicts import ConflictState
from fieldsync.server import meta, schema, scopes
from fieldsync.server.schema import scope_exits

HORIZON_KEY = "tombstone_horizon"


@dataclass(frozen=True)
class Vacuumed:
    """What a vacuum did."""

    purged: int
    horizon: int


def horizon(conn: Connection) -> int:
    """The newest purged version: cursors before it must resync."""
    return int(meta.get(conn, HORIZON_KEY, 0))


def vacuum(conn: Connection, older_than: timedelta) -> Vacuumed:
    """Purge tombstones (and scope exits and changes) older than `older_than`; raise the
    horizon.

    A tombstone an open conflict still needs (the device may restore the record) stays.
    """
    cutoff = stamp(datetime.now(UTC) - older_than)
    still_open = sa.exists().where(
        schema.journal.c.entity == schema.records.c.entity,
        schema.journal.c.record_id == schema.records.c.id,
        schema.journal.c.status == ConflictState.OPEN.value,
    )
    old = sa.and_(schema.records.c.deleted, schema.records.c.updated_at < cutoff, ~still_open)
    newest = conn.execute(sa.select(sa.func.max(schema.records.c.version)).where(old)).scalar()
    before = horizon(conn)
    if newest is None:
        return Vacuumed(0, before)
    purged = conn.execute(sa.delete(schema.records).where(old)).rowcount
    conn.execute(sa.delete(scope_exits).where(scope_exits.c.version <= newest))
    scopes.purge(conn, newest)
    raised = max(before, int(newest))
    meta.put(conn, HORIZON_KEY, raised)
    return Vacuumed(purged, raised)
