"""PostgreSQL keeps JSON columns as `json` (the text as written), not `jsonb`.

No query looks inside a stored record, journal entry or setting: every one is
read whole, and a pull sends a record's JSON as it is stored. As `jsonb`,
PostgreSQL parsed each value into its binary form on write and printed it back
on read, the larger part of reading records as text, and of writing records
and journal entries, where `json` only checks the text. SQLite stores JSON as
text anyway: nothing changes there.

The columns are rewritten in place (on PostgreSQL a table rewrite, with the
tables locked while it runs: it takes longer the more records there are).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = {
    "meta": ("value",),
    "projects": ("definition",),
    "records": ("data", "field_versions"),
    "batches": ("rejections",),
    "journal": ("fields", "base", "device", "server", "result"),
}


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")


def _retype(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {c} TYPE {kind} USING {c}::{kind}" for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
