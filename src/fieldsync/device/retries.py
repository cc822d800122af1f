"""When the device tries a request again, and how long it waits first.

Every call of the wire contract may be repeated (a push carries its batch id, so a
push sent twice lands once): a request that met no fieldsync answer, or a busy or
unavailable one (429, 502, 503, 504), is tried again, `ATTEMPTS` times in all. The
wait before each retry is the server's `Retry-After` when it sent one (seconds or an
HTTP date), else exponential backoff with full jitter: a random wait up to `BACKOFF`
seconds, doubling with each retry, so that devices turned away together do not all
come back at the same moment. A `Retry-After` longer than `LONGEST_WAIT` is not
waited out: the sync stops, and the changes stay pending for the next one.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

ATTEMPTS = 3
BACKOFF = 0.5  # the longest wait before the first retry, in seconds, doubling after
LONGEST_WAIT = 30.0  # seconds: a user waits this long for a sync at most before hearing why
RETRIED = frozenset({429, 502, 503, 504})  # busy, or a proxy without a server behind it


def wait(retry: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number `retry` (1 for the first)."""
    asked = seconds_after(retry_after) if retry_after else None
    if asked is not None:
        return asked
    return random.uniform(0, BACKOFF * 2 ** (retry - 1))


def seconds_after(retry_after: str) -> float | None:
    """A `Retry-After` value in seconds from now (None when it is neither form)."""
    value = retry_after.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
