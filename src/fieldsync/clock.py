"""Timestamps as every fieldsync table stores them."""

from __future__ import annotations

from datetime import UTC, datetime


def stamp(moment: datetime) -> str:
    """`moment` as sortable ISO 8601 UTC text with milliseconds (`YYYY-MM-DDTHH:MM:SS.mmmZ`)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> str:
    """The current time as `stamp` writes it."""
    return stamp(datetime.now(UTC))
