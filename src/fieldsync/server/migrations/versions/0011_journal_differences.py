"""Journal entries all keep D, base and the result as their differences from S.

Entries written before that format keep D, base or the result whole. Each is
rewritten as the journal stores it now (see `server/journal.py`): D and base as
the fields where they differ from S, with the fields of S they lack listed under
`~lacks`, the result as the fields where it differs from S. Entries already in
that form are left as they are, so the upgrade may run again. The downgrade has
nothing to undo: the older readers read the newer form too.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

LACKS = "~lacks"
PAGE = 1000

journal = sa.table(
    "journal",
    sa.column("id", sa.String),
    sa.column("server", sa.JSON),
    sa.column("device", sa.JSON),
    sa.column("base", sa.JSON),
    sa.column("result", sa.JSON),
)


def upgrade() -> None:
    conn = op.get_bind()
    after = ""
    while rows := conn.execute(
        sa.select(journal).where(journal.c.id > after).order_by(journal.c.id).limit(PAGE)
    ).all():
        for row in rows:
            _rewrite(conn, row)
        after = rows[-1].id


def downgrade() -> None:
    """Nothing to undo."""


def _rewrite(conn: sa.Connection, row: sa.Row[Any]) -> None:
    rewritten = {
        "device": _side(row.server, row.device),
        "base": _side(row.server, row.base),
        "result": _differences(row.server, row.result),
    }
    if rewritten != {"device": row.device, "base": row.base, "result": row.result}:
        conn.execute(sa.update(journal).where(journal.c.id == row.id).values(**rewritten))


def _differences(server: dict[str, Any], values: dict[str, Any] | None) -> Any:
    if values is None:
        return None
    return {f: v for f, v in values.items() if f not in server or server[f] != v}


def _side(server: dict[str, Any], values: dict[str, Any] | None) -> Any:
    if values is None or LACKS in values:
        return values
    return {**_differences(server, values), LACKS: [f for f in server if f not in values]}
