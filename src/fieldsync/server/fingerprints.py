"""A push batch's fingerprint: a batch id sent again must come with the same batch.

The ledger keeps each batch's fingerprint; a resent batch id whose changes differ
is refused.
"""

from __future__ import annotations

import hashlib

import orjson

from fieldsync.wire import PushIn


def of(body: PushIn) -> str:
    """The batch's fingerprint: a resent batch must match it (whitespace aside)."""
    changes = [change.__dict__ for change in body.changes]  # every field, in order
    return hashlib.sha256(orjson.dumps((body.device_id, body.batch_id, changes))).hexdigest()
