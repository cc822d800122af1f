"""Login throttling, kept in the database so it holds across server processes.

Every login attempt counts against three keys, each a row of `login_attempts`:

| key | free attempts | guards against |
|---|---|---|
| the account from this address | 5 | one guesser, one account |
| the account from any address | 20, at most 5 from each address | a guesser rotating addresses |
| the address, over every account | 50 | one address trying many accounts |

Past its free attempts a key waits before the next: 30 s, doubling with each
further attempt up to 15 minutes (429 `too_many_attempts` with Retry-After). The
address's wait applies only to accounts that have already failed from that
address, so an address full of failures (a load balancer, an office's NAT) still
lets in someone whose account nobody guessed at from it.

An attempt is *reserved* before its password is verified, in one short
transaction that locks the three rows (an upsert that returns the row), checks
them and counts the attempt: concurrent attempts, in any process, queue on the
rows and cannot all pass. A right password gives the attempt back and clears the
account's counts; a wrong one stays counted. Rows quiet for a day are dropped.

Password verification itself (Argon2, 64 MiB each) runs at most `concurrency`
at a time per process, and `WAITING` times as many attempts wait their turn (a
waiting thread holds no Argon2 memory); an attempt beyond those is answered 503
`busy` with Retry-After, and its reservation is given back.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from fieldsync.errors import ServiceUnavailable, TooManyRequests, Unauthorized
from fieldsync.server import names
from fieldsync.server.db import Database
from fieldsync.server.schema import login_attempts

FIRST_WAIT, MAX_WAIT = 30.0, 900.0  # seconds
FORGET = 86_400.0  # a key quiet this long starts again from nothing
PRUNE_EVERY = 3_600.0
CONCURRENCY = 4  # password checks at once per process
WAITING = 4  # attempts that may wait for a check, per check
T = TypeVar("T")


@dataclass(frozen=True)
class Key:
    """One throttled key: what it counts and how many attempts are free."""

    kind: str
    free: int


NAME_FROM_ADDRESS, NAME, ADDRESS = Key("name_from_address", 5), Key("name", 20), Key("address", 50)


@dataclass
class Count:
    """A key's row as this attempt found it."""

    key: Key
    failures: int
    blocked_until: float


def wait_after(failures: int, free: int) -> float:
    """Seconds the next attempt waits once a key has counted `failures` attempts."""
    if failures < free:
        return 0.0
    return min(MAX_WAIT, FIRST_WAIT * 2.0 ** min(failures - free, 16))


class LoginThrottle:
    """The login gate of one server process: database-kept counts, a bound on checks."""

    def __init__(
        self, concurrency: int = CONCURRENCY, clock: Callable[[], float] = time.time
    ) -> None:
        self.clock = clock
        self._checks = threading.BoundedSemaphore(concurrency)
        self._admitted = threading.BoundedSemaphore(concurrency * (1 + WAITING))
        self._pruned_at = 0.0

    def guard(self, db: Database, username: str, address: str, check: Callable[[], T]) -> T:
        """Run a password check once the attempt is reserved in `db` (or 429) and a slot is
        free (or 503)."""
        keys = self._reserve(db, _keys(names.key(username), address))
        if not self._admitted.acquire(blocking=False):
            self._give_back(db, keys, success=False)
            raise ServiceUnavailable("the server is busy checking passwords", retry_after=1)
        try:
            with self._checks:
                who = check()
        except Unauthorized:
            raise  # a wrong password stays counted
        except Exception:
            self._give_back(db, keys, success=False)  # no answer about the password: not counted
            raise
        finally:
            self._admitted.release()
        self._give_back(db, keys, success=True)
        return who

    def _reserve(self, db: Database, keys: dict[str, Key]) -> dict[str, Key]:
        """Count an attempt against its keys, or refuse it (429) while one must wait.
        Returns the keys it counted against, to give back."""
        now = self.clock()
        with db.write_apart() as conn:
            ordered = sorted(keys.items())  # rows locked in one order: no deadlock
            counts = {digest: _locked(conn, digest, key, now) for digest, key in ordered}
            wait = _wait(list(counts.values()), now)
            if wait > 0:
                retry = max(1, math.ceil(wait))
                raise TooManyRequests(
                    f"too many failed logins; try again in {retry} seconds", retry_after=retry
                )
            counted = _counted(counts)
            for digest in counted:
                count = counts[digest]
                failures, blocked = count.failures + 1, count.blocked_until
                if failures >= count.key.free:
                    blocked = max(blocked, now + wait_after(failures, count.key.free))
                _store(conn, digest, failures=failures, blocked_until=blocked, last_at=now)
        self._prune(db, now)
        return {digest: keys[digest] for digest in counted}

    def _give_back(self, db: Database, keys: dict[str, Key], *, success: bool) -> None:
        """Take back an attempt's count; a success also clears its account's counts."""
        with db.write_apart() as conn:
            for digest, key in sorted(keys.items()):
                if success and key is not ADDRESS:
                    _store(conn, digest, failures=0, blocked_until=0.0)
                else:
                    _store(conn, digest, failures=_ONE_LESS)

    def _prune(self, db: Database, now: float) -> None:
        """Drop quiet keys, at most once in a while per process."""
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        with db.write_apart() as conn:
            conn.execute(sa.delete(login_attempts).where(login_attempts.c.last_at < now - FORGET))


def _keys(name: str, address: str) -> dict[str, Key]:
    """Each key of an attempt by its digest (names and addresses are not stored)."""
    parts = {NAME_FROM_ADDRESS: (name, address), NAME: (name, ""), ADDRESS: ("", address)}
    return {_digest(key.kind, *values): key for key, values in parts.items()}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _locked(conn: Connection, digest: str, key: Key, now: float) -> Count:
    """The key's row, created if new and locked until the transaction ends."""
    t = login_attempts
    insert = postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t)
    upsert = (
        insert.values(key=digest, failures=0, blocked_until=0.0, last_at=now)
        .on_conflict_do_update(index_elements=[t.c.key], set_={"key": digest})
        .returning(t.c.failures, t.c.blocked_until, t.c.last_at)
    )
    row = conn.execute(upsert).one()
    if row.last_at < now - FORGET:
        return Count(key, 0, 0.0)
    return Count(key, row.failures, row.blocked_until)


def _store(conn: Connection, digest: str, **values: Any) -> None:
    conn.execute(sa.update(login_attempts).where(login_attempts.c.key == digest).values(**values))


_ONE_LESS = sa.case((login_attempts.c.failures > 0, login_attempts.c.failures - 1), else_=0)


def _counted(counts: dict[str, Count]) -> list[str]:
    """The keys an attempt counts against: the name-wide key only while this address is
    under its own limit for the name, so one address adds at most its free attempts to
    the name-wide count and cannot lock the name out from every address."""
    from_here = next(c for c in counts.values() if c.key is NAME_FROM_ADDRESS)
    over = from_here.failures >= NAME_FROM_ADDRESS.free
    return [digest for digest, c in counts.items() if not (over and c.key is NAME)]


def _wait(counts: list[Count], now: float) -> float:
    """Seconds this attempt must wait; 0 when it may go ahead."""
    by_kind = {c.key.kind: c for c in counts}
    guessed_from_here = by_kind[NAME_FROM_ADDRESS.kind].failures > 0
    waits = [c.blocked_until - now for c in counts if c.key is not ADDRESS or guessed_from_here]
    return max(0.0, *waits)
