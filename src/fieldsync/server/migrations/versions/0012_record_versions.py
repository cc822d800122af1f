"""Record versions from a sequence on PostgreSQL, so that writers need not take turns.

Until now every write transaction locked the `counters` row to take its versions.
On PostgreSQL versions now come from the sequence `record_versions` (see
`server/versions.py`), which starts where the counter stands. SQLite keeps the
counter (it has one writer).

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE record_versions AS bigint MINVALUE 0 START 0")
    op.execute(
        "SELECT setval('record_versions', coalesce("
        "(SELECT value FROM counters WHERE name = 'version'), 0), true)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "UPDATE counters SET value = (SELECT last_value FROM record_versions) "
        "WHERE name = 'version'"
    )
    op.execute("DROP SEQUENCE record_versions")
