"""Syncs per device and day, for the console's dashboard.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_days",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("device_id", sa.String(100), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("syncs", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_days")
