"""The batch ledger keeps each answer compressed, and the rejected changes apart.

`results` held a batch's results as JSON (JSONB on PostgreSQL, which parsed all
of it on every push for nobody to query). `answer` holds the same results
as the JSON the device received, zlib-compressed; `rejections` the rejected
changes' ids and errors (NULL when there are none), which the console lists by
device, newest first (`batches_device`). Stored batches are converted, so a batch
resent after the upgrade gets the answer it got before.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
CHUNK = 100  # batches converted per statement: their results are held in memory at once

ledger = sa.table(
    "batches",
    sa.column("batch_id", sa.String),
    sa.column("results", JSON),
    sa.column("answer", sa.LargeBinary),
    sa.column("rejections", JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("answer", sa.LargeBinary))
        batch.add_column(sa.Column("rejections", JSON))
    _convert(ledger.c.results, _packed)
    with op.batch_alter_table("batches") as batch:
        batch.alter_column("answer", existing_type=sa.LargeBinary, nullable=False)
        batch.drop_column("results")
    op.create_index("batches_device", "batches", ["device_id", "created_at"])


def downgrade() -> None:
    op.drop_index("batches_device", "batches")
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("results", JSON))
    _convert(ledger.c.answer, _unpacked)
    with op.batch_alter_table("batches") as batch:
        batch.alter_column("results", existing_type=JSON, nullable=False)
        batch.drop_column("rejections")
        batch.drop_column("answer")


def _convert(source: sa.ColumnClause[Any], values: Any) -> None:
    """Rewrite every stored batch from its `source` column, `CHUNK` batches at a time."""
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.select(ledger.c.batch_id))]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = conn.execute(
            sa.select(ledger.c.batch_id, source).where(ledger.c.batch_id.in_(chunk))
        ).all()
        for batch_id, stored in rows:
            update = sa.update(ledger).where(ledger.c.batch_id == batch_id)
            conn.execute(update.values(**values(stored)))


def _packed(results: list[dict[str, Any]]) -> dict[str, Any]:
    rejected = [
        {"change_id": r["change_id"], "error": r["error"]}
        for r in results
        if r["status"] == "rejected"
    ]
    return {
        "answer": zlib.compress(orjson.dumps(results), 1),
        "rejections": rejected or sa.null(),
    }


def _unpacked(answer: bytes) -> dict[str, Any]:
    return {"results": orjson.loads(zlib.decompress(answer))}
