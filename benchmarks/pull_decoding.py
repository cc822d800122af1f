"""`python -m benchmarks.pull_decoding`: what storing pulled pages costs the device, per way
of reading them.

Pages of 5,000 `account` records (as the server sends them when compressed) are stored
into a fresh device store, 50,000 records a transaction as a pull does, and the CPU
time of decoding, inserting and committing is summed (the median of `--rounds`):

- `orjson`: the page decoded to Python objects, each record encoded again for its column
  (the pull before msgspec);
- `sqlite-json`: SQLite stores the page from its JSON text (`json_each`, one
  `INSERT … SELECT` with an upsert; the page's count, cursor and flags read by
  `json_extract`), so Python never decodes it;
- `msgspec`: the page decoded with each record's values left as their JSON text
  (`msgspec.Raw`), stored as they came (the pull now).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec
import orjson

from benchmarks.data import account
from fieldsync.device import pull
from fieldsync.device.store import Store

PAGE = 5000
STORE = """
INSERT INTO records (entity, id, base_version, base, data, state, seen)
SELECT json_extract(value, '$.entity'), json_extract(value, '$.id'),
    json_extract(value, '$.version'), NULL, json_extract(value, '$.record'),
    CASE WHEN json_extract(value, '$.deleted') THEN 'removed' ELSE 'synced' END, 1
FROM json_each(?1, '$.changes') WHERE true
ON CONFLICT (entity, id) DO UPDATE SET base_version = excluded.base_version, base = NULL,
    data = excluded.data, state = excluded.state, seen = 1
WHERE records.state IN ('synced', 'removed') AND (
    records.base_version IS NOT excluded.base_version OR records.seen = 0
    OR records.state != excluded.state)
"""
HEAD = (
    "SELECT json_array_length(?1, '$.changes'), json_extract(?1, '$.cursor'), "
    "json_extract(?1, '$.more'), json_extract(?1, '$.project_version')"
)


def pages(count: int) -> list[bytes]:
    """`count` records as pages of a pull."""
    rng = random.Random(count)
    changes = [
        {
            "entity": "account",
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "version": n + 1,
            "deleted": False,
            "record": account(n, rng),
        }
        for n in range(count)
    ]
    return [
        orjson.dumps(
            {
                "changes": changes[at : at + PAGE],
                "cursor": f"1.{at}",
                "more": True,
                "project_version": 1,
            }
        )
        for at in range(0, count, PAGE)
    ]


def with_orjson(conn: sqlite3.Connection, page: bytes) -> None:
    changes = orjson.loads(page)["changes"]
    rows = [
        (c["entity"], c["id"], c["version"], orjson.dumps(c["record"]).decode()) for c in changes
    ]
    conn.executemany(pull.UPSERT, rows)


def with_sqlite_json(conn: sqlite3.Connection, page: bytes) -> None:
    text = page.decode()
    conn.execute(HEAD, (text,)).fetchone()
    conn.execute(STORE, (text,))
    conn.execute("DELETE FROM records WHERE state = 'removed' AND state != 'synced'")


def with_msgspec(conn: sqlite3.Connection, page: bytes) -> None:
    changes = pull.PAGE.decode(page).changes
    conn.executemany(pull.UPSERT, [(c.entity, c.id, c.version, pull._values(c)) for c in changes])


WAYS: dict[str, Callable[[sqlite3.Connection, bytes], None]] = {
    "orjson": with_orjson,
    "sqlite-json": with_sqlite_json,
    "msgspec": with_msgspec,
}


def stored(way: Callable[[sqlite3.Connection, bytes], None], downloaded: list[bytes]) -> float:
    """The CPU seconds of storing every page into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        started = time.process_time()
        per_commit = pull.RECORDS_PER_COMMIT // PAGE
        for at in range(0, len(downloaded), per_commit):
            with store.transaction() as conn:
                for page in downloaded[at : at + per_commit]:
                    way(conn, page)
        spent = time.process_time() - started
        store.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pull_decoding", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    downloaded = pages(args.records)
    spent: dict[str, list[float]] = {name: [] for name in WAYS}
    for _ in range(args.rounds):
        for name, way in WAYS.items():
            spent[name].append(stored(way, downloaded))
    print(
        f"SQLite {sqlite3.sqlite_version}, msgspec {msgspec.__version__}, {args.records:,} records"
    )
    print("| way | CPU ms | µs a record |")
    print("|---|---:|---:|")
    for name, times in spent.items():
        median = statistics.median(times)
        print(f"| {name} | {median * 1000:,.0f} | {median * 1e6 / args.records:.1f} |")


if __name__ == "__main__":
    main()
