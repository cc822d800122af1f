"""How fast this machine is at what a sync is made of, printed beside the results.

Figures from different days or machines differ by more than most changes do; these
three rates say whether a run's machine was a fast or a slow one.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from collections.abc import Callable

import orjson

from benchmarks.data import account

RECORDS = 20_000


def calibrate() -> list[tuple[str, float]]:
    """(what, per second) for: a Python loop, decoding records, inserting rows."""
    rng = random.Random(1)
    encoded = [orjson.dumps(account(n, rng)) for n in range(RECORDS)]
    return [
        ("Python loop iterations/s", _median_rate(_loop)),
        ("orjson records decoded/s", _median_rate(lambda: _decode(encoded))),
        ("SQLite rows inserted/s", _median_rate(lambda: _insert(encoded))),
    ]


def _median_rate(run: Callable[[], float]) -> float:
    """The median rate of five runs."""
    return statistics.median(run() for _ in range(5))


def _loop() -> float:
    started, total = time.perf_counter(), 0
    for n in range(1_000_000):
        total += n
    return 1_000_000 / (time.perf_counter() - started)


def _decode(encoded: list[bytes]) -> float:
    started = time.perf_counter()
    for line in encoded:
        orjson.loads(line)
    return len(encoded) / (time.perf_counter() - started)


def _insert(encoded: list[bytes]) -> float:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE records (id TEXT PRIMARY KEY, data TEXT)")
    rows = [(f"{n:08d}", line.decode()) for n, line in enumerate(encoded)]
    started = time.perf_counter()
    conn.executemany("INSERT INTO records VALUES (?, ?)", rows)
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return len(rows) / seconds
