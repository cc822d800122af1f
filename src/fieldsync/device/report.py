"""What one sync did, for the summary the user sees and for the sync log."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

from fieldsync.conflicts import Status


class Progress(Protocol):
    """Told how a sync advances: phase `push`, `first_screen` (stored: the lists can
    show it) or `pull`, records done so far, and for the last two the bytes downloaded
    so far (as they came over the wire, compressed)."""

    def __call__(self, phase: str, done: int, downloaded: int = 0) -> None: ...


def no_progress(phase: str, done: int, downloaded: int = 0) -> None:
    """A progress callback that shows nothing."""


_COUNTERS = {Status.CONFLICT.value: "conflicts"}  # a status counted under another name


@dataclass
class SyncReport:
    """Counts of one sync, by what happened to each change."""

    pushed: int = 0
    applied: int = 0
    merged: int = 0
    server_wins: int = 0
    device_wins: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    first_screen: int = 0  # records of a first download's first screen (pulled again after)
    downloaded: int = 0  # bytes of pulled pages on the wire
    resolved_remotely: int = 0
    resynced: bool = False

    def count(self, status: str) -> None:
        """Count one push result."""
        self.pushed += 1
        field = _COUNTERS.get(status, status)
        setattr(self, field, getattr(self, field) + 1)

    def as_dict(self) -> dict[str, Any]:
        """The counts as plain data."""
        return asdict(self)
