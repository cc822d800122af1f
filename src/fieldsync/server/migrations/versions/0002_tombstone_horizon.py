"""Purging tombstones: find old ones by time, old scope exits by version.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("records_tombstones", "records", ["deleted", "updated_at"])
    op.create_index("scope_exits_version", "scope_exits", ["version"])


def downgrade() -> None:
    op.drop_index("scope_exits_version", "scope_exits")
    op.drop_index("records_tombstones", "records")
