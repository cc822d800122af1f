"""Journal entries keep the version their result was written under (`result_version`).

A device that edited a record while its conflict was open bases those edits on the
record as the resolution left it, so that an office edit made after the resolution
meets them under the entity's policy. Until now an entry kept the result's values
but not its version. An entry resolved before this migration gets it where it is
certain: a result equal to S was not written, so it is S's version; a result equal to
the record as it is now is still the current state, so it is the record's version (a
later change that left the values as they were makes no difference to edits based on
them). The others keep NULL (a device then takes its edits onto the record as it is
now, as before: the record changed again after the resolution). The downgrade drops
the column.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PAGE = 1000

journal = sa.table(
    "journal",
    sa.column("id", sa.String),
    sa.column("entity", sa.String),
    sa.column("record_id", sa.String),
    sa.column("status", sa.String),
    sa.column("server", sa.JSON),
    sa.column("server_deleted", sa.Boolean),
    sa.column("server_version", sa.BigInteger),
    sa.column("result", sa.JSON(none_as_null=True)),
    sa.column("result_version", sa.BigInteger),
)
records = sa.table(
    "records",
    sa.column("entity", sa.String),
    sa.column("id", sa.String),
    sa.column("version", sa.BigInteger),
    sa.column("deleted", sa.Boolean),
    sa.column("data", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.add_column(sa.Column("result_version", sa.BigInteger))
    _fill_unwritten_results()


def downgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("result_version")


def _fill_unwritten_results() -> None:
    """Give each resolved entry whose result is S (nothing was written) S's version, and
    each whose result is the record as it is now that record's version."""
    conn = op.get_bind()
    statement = (
        sa.update(journal)
        .where(journal.c.id == sa.bindparam("entry_id"))
        .values(result_version=sa.bindparam("version"))
    )
    resolved = sa.select(journal).where(journal.c.status == "resolved")
    after = ""
    while rows := conn.execute(
        resolved.where(journal.c.id > after).order_by(journal.c.id).limit(PAGE)
    ).all():
        known = [{"entry_id": r.id, "version": r.server_version} for r in rows if _is_server(r)]
        current = _current(conn, [r for r in rows if not _is_server(r)])
        known += [{"entry_id": r.id, "version": current[r.id]} for r in rows if r.id in current]
        if known:
            conn.execute(statement, known)
        after = rows[-1].id


def _is_server(row: sa.Row[Any]) -> bool:
    return bool(row.result == (None if row.server_deleted else row.server))


def _current(conn: sa.Connection, entries: list[sa.Row[Any]]) -> dict[str, int]:
    """The entries among `entries` whose result is their record as it is now: the
    record's version, by entry id."""
    by_entity: dict[str, list[sa.Row[Any]]] = {}
    for entry in entries:
        by_entity.setdefault(entry.entity, []).append(entry)
    found: dict[str, int] = {}
    for entity, rows in by_entity.items():
        query = sa.select(records).where(
            records.c.entity == entity, records.c.id.in_([r.record_id for r in rows])
        )
        now = {record.id: record for record in conn.execute(query)}
        for entry in rows:
            record = now.get(entry.record_id)
            if record is not None and entry.result == (None if record.deleted else record.data):
                found[entry.id] = record.version
    return found
