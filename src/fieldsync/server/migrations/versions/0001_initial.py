"""The first schema: project, users, tokens, devices, records, ledger, journal.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("value", JSON, nullable=False),
    )
    op.create_table(
        "projects",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("created_by", sa.String(36)),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("device_id", sa.String(100)),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("last_push_at", Stamp),
        sa.Column("last_pull_at", Stamp),
    )
    op.create_table(
        "records",
        sa.Column("entity", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("field_versions", JSON, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("updated_by", sa.String(36), nullable=False),
    )
    op.create_index("records_version", "records", ["version"], unique=True)
    op.create_index("records_owner_version", "records", ["owner_id", "version"])
    op.create_table(
        "scope_exits",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(100), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("results", JSON, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "journal",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("change_id", sa.String(100)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("policy", sa.String(30), nullable=False),
        sa.Column("detection", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("base", JSON),
        sa.Column("base_version", sa.BigInteger),
        sa.Column("device", JSON),
        sa.Column("server", JSON, nullable=False),
        sa.Column("server_deleted", sa.Boolean, nullable=False),
        sa.Column("server_version", sa.BigInteger, nullable=False),
        sa.Column("result", JSON),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("resolved_at", Stamp),
        sa.Column("resolved_by", sa.String(36)),
        sa.Column("restored_at", Stamp),
        sa.Column("restored_by", sa.String(36)),
    )
    op.create_index("journal_device_status", "journal", ["device_id", "status"])
    op.create_index("journal_created", "journal", ["created_at"])
    op.create_index("journal_record", "journal", ["entity", "record_id"])


def downgrade() -> None:
    for table in (
        "journal",
        "batches",
        "scope_exits",
        "records",
        "devices",
        "tokens",
        "users",
        "projects",
        "meta",
        "counters",
    ):
        op.drop_table(table)
