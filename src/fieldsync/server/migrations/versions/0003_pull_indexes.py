"""Pull walks one index range per entity: (entity, version) and (owner_id, entity, version).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("records_entity_version", "records", ["entity", "version"])
    op.drop_index("records_owner_version", "records")
    op.create_index("records_owner_entity_version", "records", ["owner_id", "entity", "version"])


def downgrade() -> None:
    op.drop_index("records_owner_entity_version", "records")
    op.create_index("records_owner_version", "records", ["owner_id", "version"])
    op.drop_index("records_entity_version", "records")
