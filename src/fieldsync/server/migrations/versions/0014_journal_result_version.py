"""Journal entries keep the version their result was written under (`result_version`).

A device that edited a record while its conflict was open bases those edits on the
record as the resolution left it, so that an office edit made after the resolution
meets them under the entity's policy. Until now an entry kept the result's values
but not its version. An entry resolved before this migration gets it where it is
certain: a result equal to S was not written, so it is S's version; the others keep
NULL (a device then takes its edits onto the record as it is now, as before). The
downgrade drops the column.

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
    sa.column("status", sa.String),
    sa.column("server", sa.JSON),
    sa.column("server_deleted", sa.Boolean),
    sa.column("server_version", sa.BigInteger),
    sa.column("result", sa.JSON(none_as_null=True)),
    sa.column("result_version", sa.BigInteger),
)


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.add_column(sa.Column("result_version", sa.BigInteger))
    _fill_unwritten_results()


def downgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("result_version")


def _fill_unwritten_results() -> None:
    """Give each resolved entry whose result is S (nothing was written) S's version."""
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
        unwritten = [row for row in rows if _result_is_server(row)]
        if unwritten:
            conn.execute(
                statement, [{"entry_id": r.id, "version": r.server_version} for r in unwritten]
            )
        after = rows[-1].id


def _result_is_server(row: sa.Row[Any]) -> bool:
    return bool(row.result == (None if row.server_deleted else row.server))
