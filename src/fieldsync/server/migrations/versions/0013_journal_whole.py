"""Journal entries keep base, D and the result whole, as S already was.

Until now D and base were stored as the fields where they differ from S, with the
fields of S they lack listed under `~lacks`, and the result as the fields where it
differs from S. Each entry is rewritten with the records as the journal read them
back, so that an admin reads them with SQL as they were; a missing record (None)
becomes SQL NULL. The downgrade writes them back as differences.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LACKS = "~lacks"
PAGE = 1000
Values = dict[str, Any] | None

journal = sa.table(
    "journal",
    sa.column("id", sa.String),
    sa.column("server", sa.JSON),
    sa.column("device", sa.JSON(none_as_null=True)),
    sa.column("base", sa.JSON(none_as_null=True)),
    sa.column("result", sa.JSON(none_as_null=True)),
)


def upgrade() -> None:
    _rewrite_all(lambda row: _sides(row, _whole_side, _whole_result))


def downgrade() -> None:
    _rewrite_all(lambda row: _sides(row, _side_as_differences, _differences))


def _rewrite_all(rewrite: Callable[[sa.Row[Any]], dict[str, Values]]) -> None:
    conn = op.get_bind()
    statement = (
        sa.update(journal)
        .where(journal.c.id == sa.bindparam("entry_id"))
        .values(device=sa.bindparam("device"), base=sa.bindparam("base"))
        .values(result=sa.bindparam("result"))
    )
    after = ""
    while rows := conn.execute(
        sa.select(journal).where(journal.c.id > after).order_by(journal.c.id).limit(PAGE)
    ).all():
        conn.execute(statement, [{"entry_id": row.id, **rewrite(row)} for row in rows])
        after = rows[-1].id


def _sides(
    row: sa.Row[Any],
    side: Callable[[dict[str, Any], Values], Values],
    result: Callable[[dict[str, Any], Values], Values],
) -> dict[str, Values]:
    return {
        "device": side(row.server, row.device),
        "base": side(row.server, row.base),
        "result": result(row.server, row.result),
    }


def _whole_side(server: dict[str, Any], stored: Values) -> Values:
    if stored is None or LACKS not in stored:
        return stored
    lacks = set(stored[LACKS])
    values = {f: v for f, v in server.items() if f not in lacks}
    values.update((f, v) for f, v in stored.items() if f != LACKS)
    return values


def _whole_result(server: dict[str, Any], stored: Values) -> Values:
    return None if stored is None else {**server, **stored}


def _differences(server: dict[str, Any], values: Values) -> Values:
    if values is None:
        return None
    return {f: v for f, v in values.items() if f not in server or server[f] != v}


def _side_as_differences(server: dict[str, Any], values: Values) -> Values:
    if values is None:
        return None
    return {**(_differences(server, values) or {}), LACKS: [f for f in server if f not in values]}
