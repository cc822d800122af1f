"""Which device last wrote a record, so pulls need not send a device its own writes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("written_by_device", sa.String(100)))


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("written_by_device")
