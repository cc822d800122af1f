"""The batch ledger: every pushed batch once, with the answer its device received.

A batch's row is written in the transaction that applies its changes, so a resent
batch id finds it and gets the same answer, byte for byte, without being applied
again (exactly once). The answer is kept as the JSON the device received,
zlib-compressed: it is large, JSON compresses well, and nothing queries it (as
JSONB, PostgreSQL would parse every answer it stores). The rejected changes are kept
apart, small, for the console's device page.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.conflicts import Status
from fieldsync.server.schema import batches
from fieldsync.wire import ChangeResult

LEVEL = 1  # zlib's fastest: every push compresses its answer, and few are read again


class StoredBatch(NamedTuple):
    """A batch as the ledger keeps it: who sent it, its fingerprint, its answer."""

    user_id: str
    request_hash: str
    answer: bytes  # the results, a JSON array, as the device received them


def find(conn: Connection, batch_id: str) -> StoredBatch | None:
    """The batch stored under `batch_id`, if any."""
    query = sa.select(batches.c.user_id, batches.c.request_hash, batches.c.answer)
    row = conn.execute(query.where(batches.c.batch_id == batch_id)).first()
    if row is None:
        return None
    return StoredBatch(row.user_id, row.request_hash, zlib.decompress(row.answer))


class Answer(NamedTuple):
    """A batch's results as the device receives them, and as the ledger keeps them."""

    json: bytes
    compressed: bytes
    rejections: list[dict[str, Any]]

    @classmethod
    def of(cls, results: Sequence[ChangeResult]) -> Answer:
        """Encode and compress `results` (done while the batch's last writes are on
        their way)."""
        answer = orjson.dumps(results)
        return cls(answer, zlib.compress(answer, LEVEL), rejections(results))


def add(
    conn: Connection,
    *,
    batch_id: str,
    user_id: str,
    device_id: str,
    request_hash: str,
    answer: Answer,
    created_at: str,
) -> None:
    """Store a batch and its answer."""
    conn.execute(
        sa.insert(batches).values(
            batch_id=batch_id,
            user_id=user_id,
            device_id=device_id,
            request_hash=request_hash,
            answer=answer.compressed,
            rejections=answer.rejections or sa.null(),  # SQL NULL, not JSON null
            created_at=created_at,
        )
    )


def rejections(results: Sequence[ChangeResult]) -> list[dict[str, Any]]:
    """The rejected changes among a batch's results: their ids and errors."""
    refused = [r for r in results if r["status"] == Status.REJECTED.value]
    return [{"change_id": r["change_id"], "error": r["error"]} for r in refused]


def rejected_changes(conn: Connection, device_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The device's latest refused changes: when, which change, and why (newest first)."""
    rows = conn.execute(
        sa.select(batches.c.created_at, batches.c.rejections)
        .where(batches.c.device_id == device_id, batches.c.rejections.is_not(None))
        .order_by(batches.c.created_at.desc())
        .limit(limit)
    )
    found = [{"at": row.created_at, **r} for row in rows for r in row.rejections]
    return found[:limit]
