"""Login throttling: too many failed logins for a name, or from an address, wait.

Counted in memory, per server process, over a sliding window: five failures for one
username from one address, or fifty from one address, lock further attempts until
the oldest failure leaves the window (429 with Retry-After). A success clears the
name's failures. Several processes each count their own (docs/security.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import TypeVar

from fieldsync.errors import TooManyRequests, Unauthorized

PER_NAME, PER_ADDRESS, WINDOW = 5, 50, 300.0
MAX_KEYS = 100_000  # beyond this many counted names, the expired ones are dropped
T = TypeVar("T")


class LoginThrottle:
    """Failed logins per (username, address) and per address, over the last `window` s."""

    def __init__(
        self,
        per_name: int = PER_NAME,
        per_address: int = PER_ADDRESS,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"name": per_name, "address": per_address}
        self.window, self.clock = window, clock
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> dict[str, tuple[str, str]]:
        return {"name": (username.casefold(), address), "address": ("", address)}

    def check(self, username: str, address: str) -> None:
        """Refuse an attempt while either count is at its limit (429)."""
        now = self.clock()
        with self._lock:
            for kind, key in self._keys(username, address).items():
                failures = self._recent(key, now)
                if len(failures) >= self.limits[kind]:
                    wait = math.ceil(failures[0] + self.window - now)
                    raise TooManyRequests(
                        f"too many failed logins; try again in {wait} seconds", retry_after=wait
                    )

    def failed(self, username: str, address: str) -> None:
        """Count a wrong password."""
        now = self.clock()
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                self._prune(now)
            for key in self._keys(username, address).values():
                self._recent(key, now).append(now)

    def succeeded(self, username: str, address: str) -> None:
        """A right password clears the failures of this name from this address."""
        with self._lock:
            self._failures.pop(self._keys(username, address)["name"], None)

    def guard(self, username: str, address: str, check: Callable[[], T]) -> T:
        """Run a password check under the throttle: refused early, failures counted."""
        self.check(username, address)
        try:
            who = check()
        except Unauthorized:
            self.failed(username, address)
            raise
        self.succeeded(username, address)
        return who

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures
