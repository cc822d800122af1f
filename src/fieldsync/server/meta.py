"""Small server-wide settings kept in the `meta` table (epoch, tombstone horizon)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.server.schema import meta


def get(conn: Connection, key: str, default: Any = None) -> Any:
    """The value stored under `key`, or `default`."""
    row = conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).first()
    return default if row is None else row.value


def put(conn: Connection, key: str, value: Any) -> None:
    """Store `value` under `key`, replacing what was there."""
    if conn.execute(sa.select(meta.c.key).where(meta.c.key == key)).first():
        conn.execute(sa.update(meta).where(meta.c.key == key).values(value=value))
    else:
        conn.execute(sa.insert(meta).values(key=key, value=value))
