"""Login attempts, counted in the database so every server process shares the limits.

One row per throttled key (an account, an account from an address, an address;
stored as a SHA-256, see `server/throttle.py`): attempts counted up front, when the
next may start, and when the last was made (rows quiet for a day are dropped).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("blocked_until", sa.Float, nullable=False),
        sa.Column("last_at", sa.Float, nullable=False),
    )
    op.create_index("login_attempts_last", "login_attempts", ["last_at"])


def downgrade() -> None:
    op.drop_index("login_attempts_last", "login_attempts")
    op.drop_table("login_attempts")
