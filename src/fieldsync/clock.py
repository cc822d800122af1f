"""Timestamps as every fieldsync table stores them."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    """The current UTC time as sortable ISO 8601 text, e.g. `2026-11-26T12:00:00.000Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
