"""Scope changes: each change of an entity's sync filter, under a version of the counter.

A pull whose cursor is older than a scope change sends the records the change
brings into the user's scope and the deletion of those it takes out (see `scopes`).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scope_changes",
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("entity", sa.String(64), primary_key=True),
        sa.Column("old_filter", sa.String(10), nullable=False),
        sa.Column("new_filter", sa.String(10), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scope_changes")
