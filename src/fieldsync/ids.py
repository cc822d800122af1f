"""Ids that sort by when they were made."""

from __future__ import annotations

import os
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT = 0x2 << 62
_CLEAR = ~((0xF << 76) | (0x3 << 62))


def time_ordered() -> str:
    """A new UUID of version 7 (RFC 9562): the Unix time in milliseconds, then 74 random
    bits. Rows keyed by such ids are added at the end of their index, not all over
    it: fewer pages to write (and, on PostgreSQL, fewer whole pages in its log)."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    return str(uuid.UUID(int=value & _CLEAR | _VERSION_7 | _VARIANT))
