"""Syncs in the background: on demand, on start, after a change, on an interval.

One thread runs every sync of the app, so two never overlap; pages read its state
(phase, counts, last summary) to show live progress. Offline is a state, not an
error: the changes stay on the device and the next attempt comes after a backoff.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fieldsync.device import Device
from fieldsync.device.report import SyncReport
from fieldsync.errors import FieldsyncError, NotLoggedIn, Offline, ServerRefused

SETTINGS_KEY = "app_settings"
BACKOFF_FIRST, BACKOFF_MAX = 5.0, 300.0


@dataclass(frozen=True)
class AutoSync:
    """When the app syncs by itself (Resco's automatic synchronization)."""

    on_start: bool = True
    after_change: bool = True
    change_delay: int = 10  # seconds after the last change
    interval: int = 15  # minutes between syncs; 0 is never

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> AutoSync:
        """Settings as stored (missing keys take their defaults)."""
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class SyncState:
    """What the user sees of the sync: running or not, the phase, counts, the outcome."""

    running: bool = False
    phase: str = "idle"  # idle, starting, pushing, pulling, done, offline, signed_out, failed
    pushed: int = 0
    pulled: int = 0
    message: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    finished_at: float | None = None
    syncs: int = 0  # finished attempts, so a page can tell a new outcome from the last


class Syncer:
    """The app's one sync thread over a device directory."""

    def __init__(self, directory: Path) -> None:
        self.device = Device(directory)  # its own connection to the store
        self.state = SyncState()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._wanted = False
        self._change_due: float | None = None
        self._backoff = 0.0
        self._next_interval = time.monotonic()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="fieldsync-sync", daemon=True)

    def settings(self) -> AutoSync:
        """The auto-sync settings stored on the device."""
        return AutoSync.of(self.device.store.get_meta(SETTINGS_KEY))

    def start(self) -> None:
        """Start the thread (and a first sync, if the settings ask for one)."""
        settings = self.settings()
        self._next_interval = time.monotonic() + settings.interval * 60
        if settings.on_start:
            self._wanted = True
        self._thread.start()

    def stop(self) -> None:
        """Let the thread end after the sync in progress."""
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.device.close()

    def request(self) -> None:
        """Sync now (or right after the sync in progress)."""
        with self._lock:
            if not self.state.running:  # shown at once, before the thread picks it up
                self.state.running, self.state.phase = True, "starting"
        self._wanted = True
        self._wake.set()

    def request_reschedule(self) -> None:
        """The settings changed: the next interval sync counts from now."""
        self._next_interval = time.monotonic() + self.settings().interval * 60
        self._wake.set()

    def changed(self) -> None:
        """A record was edited: sync after the configured quiet delay."""
        settings = self.settings()
        if settings.after_change:
            self._change_due = time.monotonic() + settings.change_delay
            self._wake.set()

    def status(self) -> dict[str, Any]:
        """The sync state as plain data for pages and the status endpoint."""
        with self._lock:
            return asdict(self.state)

    def _run(self) -> None:
        while not self._stopped:
            wait = self._seconds_to_next()
            if wait > 0:
                self._wake.wait(timeout=min(wait, 60))
                self._wake.clear()
                continue
            self._wanted, self._change_due = False, None
            self._sync_once()

    def _seconds_to_next(self) -> float:
        if self._wanted:
            return 0.0
        clock = time.monotonic()
        due = [self._next_interval] if self.settings().interval else []
        if self._change_due is not None:
            due.append(self._change_due)
        return min(due) - clock if due else 60.0

    def _sync_once(self) -> None:
        with self._lock:
            self.state = SyncState(running=True, phase="pushing", syncs=self.state.syncs)
        try:
            report = self.device.sync(self._progress)
            errors = self.device.error_count()
            self._finish("done", _summary(report, errors), report=report)
            self._backoff = 0.0
        except Offline:
            self._retry_later()
            self._finish("offline", "Offline: your changes are kept and sync when you are back.")
        except NotLoggedIn:
            self._finish("signed_out", "This device is not logged in.")
        except ServerRefused as refused:
            if refused.status == 401:
                self._finish("signed_out", "Signed out by the server: log in again to sync.")
            else:
                self._finish("failed", str(refused))
        except FieldsyncError as failure:
            self._finish("failed", str(failure))
        except Exception as failure:  # a bug must show, not stop every later sync
            self._finish("failed", f"unexpected error: {failure!r}")
        self._next_interval = time.monotonic() + self.settings().interval * 60

    def _retry_later(self) -> None:
        """Offline: with any automatic sync on, try again after a growing pause."""
        self._backoff = min(BACKOFF_MAX, self._backoff * 2 or BACKOFF_FIRST)
        settings = self.settings()
        if settings.interval or settings.after_change:
            self._change_due = time.monotonic() + self._backoff

    def _progress(self, phase: str, done: int, downloaded: int = 0) -> None:
        with self._lock:
            self.state.phase = "pushing" if phase == "push" else "pulling"
            if phase == "push":
                self.state.pushed = done
            else:
                self.state.pulled = done

    def _finish(self, phase: str, message: str, report: SyncReport | None = None) -> None:
        with self._lock:
            self.state.running = False
            self.state.phase = phase
            self.state.message = message
            self.state.summary = report.as_dict() if report else {}
            self.state.finished_at = time.time()
            self.state.syncs += 1


def _summary(report: SyncReport, errors: int) -> str:
    parts = [f"{report.pushed} sent", f"{report.pulled} received"]
    if report.conflicts:
        parts.append(f"{report.conflicts} conflicts")
    if report.rejected:
        parts.append(f"{report.rejected} rejected")
    line = "Synced: " + ", ".join(parts) + "."
    return line + (f" Sync errors: {errors}." if errors else "")
