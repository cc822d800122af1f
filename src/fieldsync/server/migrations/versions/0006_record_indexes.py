"""Two fewer index writes per record write.

`records_version` (unique on version) was read by no query: the uniqueness guard
moves to `records_entity_version`, which pulls read anyway. The tombstone index
holds tombstones only, so a live record's write no longer touches it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("records_version", "records")
    op.drop_index("records_entity_version", "records")
    op.create_index("records_entity_version", "records", ["entity", "version"], unique=True)
    op.drop_index("records_tombstones", "records")
    op.create_index(
        "records_tombstones",
        "records",
        ["updated_at"],
        sqlite_where=sa.text("deleted = 1"),
        postgresql_where=sa.text("deleted"),
    )


def downgrade() -> None:
    op.drop_index("records_tombstones", "records")
    op.create_index("records_tombstones", "records", ["deleted", "updated_at"])
    op.drop_index("records_entity_version", "records")
    op.create_index("records_entity_version", "records", ["entity", "version"])
    op.create_index("records_version", "records", ["version"], unique=True)
