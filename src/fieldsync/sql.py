"""SQL text that the server and the device build alike: IN lists, LIKE patterns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

CHUNK = 500  # values per IN (…) list, well under SQLite's parameter limit
LIKE_ESCAPE = "\\"


def chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `CHUNK`, one IN list each."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def marks(count: int) -> str:
    """The `?` placeholders of an IN list of `count` values."""
    return ", ".join("?" * count)


def containing(text: str) -> str:
    """A LIKE pattern (escaped with `LIKE_ESCAPE`) that matches any text containing `text`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
