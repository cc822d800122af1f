"""PostgreSQL keeps JSON columns as `json` (the text as written), not `jsonb`.

No query looks inside a stored record, journal entry or setting: every one is
read whole, and a pull sends a record's JSON as it is stored. As `jsonb`,
PostgreSQL parsed each value into its binary form on write and printed it back
on read: ~55% of reading 100k records as text (~600 instead of ~270 ms here),
and more of updating 1k records or journaling 1k conflicts than `json`, which
only checks the text. SQLite stores JSON as text anyway: nothing changes there.

The columns are rewritten in place (a table rewrite: on PostgreSQL, a minute or so
for a million records, with the tables locked).

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
