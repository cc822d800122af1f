"""A push batch's fingerprint: a batch id sent again must come with the same batch.

The ledger keeps each batch's fingerprint; a resent batch id whose changes differ
is refused. Batches stored by earlier versions keep the fingerprint those versions
made, so a resent batch is matched against each of them too.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from fieldsync.server.wire import PushIn


def of(body: PushIn) -> str:
    """The batch's fingerprint: a resent batch must match it (whitespace aside)."""
    return _hashed(body, [change.__dict__ for change in body.changes])  # fields, in order


def matches(stored: str, body: PushIn, fingerprint: str) -> bool:
    """True when a stored fingerprint, of whichever version made it, is this batch's
    (whose fingerprint is `fingerprint`)."""
    if stored == fingerprint:
        return True
    if any(change.merged_from is not None for change in body.changes):
        return False  # only this version sends it
    return any(stored == older(body) for older in _OLDER)


def _hashed(body: PushIn, changes: list[dict[str, Any]]) -> str:
    return hashlib.sha256(orjson.dumps((body.device_id, body.batch_id, changes))).hexdigest()


def _unmerged(body: PushIn) -> str:
    """The fingerprint of batches stored before changes carried `merged_from`."""
    changes = [{k: v for k, v in c.__dict__.items() if k != "merged_from"} for c in body.changes]
    return _hashed(body, changes)


def _pydantic(body: PushIn) -> str:
    """The fingerprint of batches stored in 2026-11 (pydantic's JSON; slower to make)."""
    return hashlib.sha256(body.model_dump_json(exclude=_NEWER).encode()).hexdigest()


def _legacy(body: PushIn) -> str:
    """The fingerprint of the oldest stored batches (sorted keys)."""
    canonical = orjson.dumps(body.model_dump(exclude=_NEWER), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


# What earlier versions' fingerprints did not know.
_NEWER: Any = {"changes": {"__all__": {"merged_from"}}}
_OLDER = (_unmerged, _pydantic, _legacy)
