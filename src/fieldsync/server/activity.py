"""What the fleet did: syncs per day, conflicts per policy, devices and their troubles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from fieldsync.conflicts import ConflictState
from fieldsync.errors import NotFound
from fieldsync.server import schema
from fieldsync.server.schema import devices, sync_days


def note_sync(conn: Connection, device_id: str, user_id: str) -> None:
    """Count one finished sync of a device today (in one statement: syncs of one device
    may end at once in two processes)."""
    day = datetime.now(UTC).date().isoformat()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    first = insert(sync_days).values(day=day, device_id=device_id, user_id=user_id, syncs=1)
    conn.execute(
        first.on_conflict_do_update(
            index_elements=["day", "device_id"], set_={"syncs": sync_days.c.syncs + 1}
        )
    )


@dataclass(frozen=True)
class Day:
    """One day of the dashboard chart."""

    day: str
    syncs: int
    conflicts: dict[str, int]  # per policy

    @property
    def total_conflicts(self) -> int:
        """Conflicts met that day under any policy."""
        return sum(self.conflicts.values())


def last_days(conn: Connection, days: int, today: date | None = None) -> list[Day]:
    """Syncs and conflicts per policy for each of the last `days` days, oldest first."""
    end = today or datetime.now(UTC).date()
    names = [(end - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
    syncs: dict[str, int] = dict(
        conn.execute(
            sa.select(sync_days.c.day, sa.func.sum(sync_days.c.syncs))
            .where(sync_days.c.day >= names[0])
            .group_by(sync_days.c.day)
        ).all()
    )
    day_of = sa.func.substr(schema.journal.c.created_at, 1, 10)
    conflicts: dict[str, dict[str, int]] = {name: {} for name in names}
    rows = conn.execute(
        sa.select(day_of, schema.journal.c.policy, sa.func.count())
        .where(schema.journal.c.created_at >= names[0])
        .group_by(day_of, schema.journal.c.policy)
    ).all()
    for day, policy, count in rows:
        conflicts.setdefault(day, {})[policy] = int(count)
    return [Day(name, int(syncs.get(name, 0)), conflicts[name]) for name in names]


def open_conflicts(conn: Connection) -> int:
    """How many User Action conflicts wait for a choice."""
    query = sa.select(sa.func.count()).where(schema.journal.c.status == ConflictState.OPEN.value)
    return int(conn.execute(query).scalar_one())


def device(conn: Connection, device_id: str) -> dict[str, Any]:
    """One device, or 404."""
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id)).mappings().first()
    if row is None:
        raise NotFound(f"no device {device_id!r:.80}", code="unknown_device")
    return dict(row)
