"""`python -m benchmarks.slow_link`: syncs over a shaped link (see `benchmarks.shaping`).

The server (`fieldsync serve`, SQLite) and each device task run in their own
processes; the link between them is a shaping proxy in this one. For each link:
the first download of each size uncompressed, in gzip and in zstd, then a push of 1k
edits and an incremental sync of 1k server changes; and, where Node and
`benchmarks/pouchdb` are installed, PouchDB's replication of the same records over the
same link (`benchmarks.pouchdb_replication`). Then what compressing a pull page costs
at each size, which sets `encoding.MIN_SIZE`.

With `--screen-size N`, only the first usable screen (`run_screen`): N records of
which 2% are the worker's first screen (their own accounts, spread through the
history, and the upcoming appointments, made last), downloaded in zstd with and
without asking for the first screen first, in turns (`--screen-rounds`).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config

from benchmarks import cpu, pouchdb_replication
from benchmarks.__main__ import database, office_edits, task
from benchmarks.data import account, give, past_and_upcoming, seed, seed_appointments, user_id
from benchmarks.shaping import Link, ShapedProxy
from fieldsync import encoding
from fieldsync.server import migrate
from fieldsync.server.background import spawn
from fieldsync.server.db import Database

LINKS = {
    "20M": Link("20 Mbit/s, 60 ms RTT", 20e6, 0.060),
    "2M": Link("2 Mbit/s, 150 ms RTT", 2e6, 0.150),
}
CODINGS = ["none", "gzip", "zstd"]
STARTUP = 300  # seconds a server may take to start
POUCHDB_BATCHES = [100]  # changes a request; PouchDB's default is 100


@dataclass
class Result:
    """One line of the table."""

    link: str
    scenario: str
    coding: str
    seconds: float
    up: int
    down: int
    used: cpu.Cpu
    device_mb: float


def timed(
    server_pid: int, name: str, phone: Path, url: str, coding: str, count: int = 0
) -> dict[str, Any]:
    """A device task through the link, with the CPU time of the device and the server."""
    env = {"FIELDSYNC_COMPRESSION": coding}
    return cpu.measured(server_pid, False, lambda: task(name, phone, url, count, env))


def run_link(
    key: str, sizes: list[int], largest_on_slow: int, today: str | None, results: list[Result]
) -> None:
    link = LINKS[key]
    for size in sizes:
        if key == "2M" and size > largest_on_slow:
            continue
        with database("sqlite", "") as db, tempfile.TemporaryDirectory() as tmp:
            ids = seed(db, size, user_id(db, "alice"))
            if today:
                old_db = at_revision_of(db, today, Path(tmp) / "today.db")
                run_today(old_db, today, Path(tmp) / "phone-today", link, size, results)
            process, url = started(db.url)
            proxy = ShapedProxy(int(url.rsplit(":", 1)[1]), link)
            try:
                for coding in CODINGS:
                    phone = Path(tmp) / f"phone-{coding}"
                    task("login", phone, proxy.url)
                    proxy.counted.take()
                    step = timed(process.pid, "sync", phone, proxy.url, coding)
                    assert step["report"]["pulled"] == size, step
                    add(results, link, f"first download {size // 1000}k", coding, step, proxy)
                if size == min(sizes):
                    run_steps(db, ids, process.pid, tmp, proxy, link, results)
            finally:
                proxy.close()
                process.terminate()
                process.wait(30)
            if POUCHDB_BATCHES and pouchdb_replication.available():
                run_pouchdb(db, Path(tmp) / "pouchdb", link, size, results)


def run_pouchdb(db: Any, directory: Path, link: Link, size: int, results: list[Result]) -> None:
    """PouchDB's first replication of the same records, for each batch size."""
    with pouchdb_replication.served(db, directory, link) as (pid, proxy):
        for batch in POUCHDB_BATCHES:
            proxy.counted.take()
            step = pouchdb_replication.pull(pid, directory / f"device-{batch}", proxy, batch)
            assert step["pulled"] == size, step
            coding = f"PouchDB, {batch:,} a batch"
            add(results, link, f"first download {size // 1000}k", coding, step, proxy)


def started(db_url: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`spawn`, waiting longer: on a machine loaded by other work, a server's start-up
    alone can take more than half a minute."""
    return spawn(db_url, env=env, wait=STARTUP)


def at_revision_of(db: Database, src: str, path: Path) -> str:
    """A copy of `db` (SQLite) taken down to the schema of another version (`src`)."""
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    revision = subprocess.run(
        [sys.executable, "-c", "from fieldsync.server import migrate; print(migrate.head())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with sqlite3.connect(db.engine.url.database or "") as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    old = Database(str(path))
    with old.engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrate.MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    old.dispose()
    return old.url


def run_today(
    db_url: str, src: str, phone: Path, link: Link, size: int, results: list[Result]
) -> None:
    """The first download with another version's server and device (`src`: its source)."""
    env = {"PYTHONPATH": os.pathsep.join([str(Path(src).resolve()), os.getcwd()])}
    process, url = started(db_url, env)
    proxy = ShapedProxy(int(url.rsplit(":", 1)[1]), link)
    try:
        task("login", phone, proxy.url, 0, env)
        proxy.counted.take()
        step = cpu.measured(process.pid, False, lambda: task("sync", phone, proxy.url, 0, env))
        assert step["report"]["pulled"] == size, step
        add(results, link, f"first download {size // 1000}k", "today", step, proxy)
    finally:
        proxy.close()
        process.terminate()
        process.wait(30)


def run_steps(
    db: Any,
    ids: list[str],
    pid: int,
    tmp: str,
    proxy: ShapedProxy,
    link: Link,
    results: list[Result],
) -> None:
    """A push of 1k edits, and an incremental sync of 1k server changes, each coding."""
    for n, coding in enumerate(CODINGS):
        phone = Path(tmp) / f"phone-{coding}"
        task("sync", phone, proxy.url)  # what the other phones did (untimed)
        task("edit", phone, proxy.url, 1000)
        proxy.counted.take()
        add(
            results,
            link,
            "push 1k edits",
            coding,
            timed(pid, "sync", phone, proxy.url, coding),
            proxy,
        )
        office_edits(db, ids[-1000:], {"city": f"Office {n}"})
        proxy.counted.take()
        step = timed(pid, "sync", phone, proxy.url, coding)
        add(results, link, "incremental 1k", coding, step, proxy)


def add(
    results: list[Result],
    link: Link,
    scenario: str,
    coding: str,
    step: dict[str, Any],
    proxy: ShapedProxy,
) -> None:
    up, down = proxy.counted.take()
    seconds, used, peak = step["seconds"], step["cpu"], step["peak_mb"]
    results.append(Result(link.name, scenario, coding, seconds, up, down, used, peak))
    print(f"{link.name}: {scenario}, {coding}: {step['seconds']:.2f} s", file=sys.stderr)


@dataclass
class Screen:
    """One download of the first-screen scenario."""

    device: str
    screen: float  # seconds until the first screen's records were all stored
    whole: float  # seconds of the whole sync
    down: int


def run_screen(key: str, size: int, rounds: int) -> list[Screen]:
    """The first usable screen of a worker among `size` records, with and without the
    first screen, in turns (without, with, with, without, …)."""
    link, results = LINKS[key], []
    with database("sqlite", "") as db, tempfile.TemporaryDirectory() as tmp:
        wanted = Path(tmp) / "screen.json"
        wanted.write_text(json.dumps(seed_screen(db, size)))
        process, url = started(db.url)
        proxy = ShapedProxy(int(url.rsplit(":", 1)[1]), link)
        env = {"FIELDSYNC_COMPRESSION": "zstd", "FIELDSYNC_BENCH_SCREEN": str(wanted)}
        try:
            for n in range(rounds):
                for name in ("plain-screen", "screen")[:: 1 if n % 2 == 0 else -1]:
                    phone = Path(tmp) / f"phone-{n}-{name}"
                    task("login", phone, proxy.url)
                    proxy.counted.take()
                    step = task(name, phone, proxy.url, 0, env)
                    report = step["report"]
                    assert report["screen_seconds"] is not None, report
                    down = proxy.counted.take()[1]
                    label = "without first screen" if name == "plain-screen" else "first screen"
                    results.append(Screen(label, report["screen_seconds"], step["seconds"], down))
                    said = f"{link.name}: {label}: {report['screen_seconds']:.2f} s"
                    print(said, file=sys.stderr)
        finally:
            proxy.close()
            process.terminate()
            process.wait(30)
    return results


def seed_screen(db: Database, size: int) -> list[str]:
    """`size` records: accounts of bob's, every 50th alice's, and a twentieth as many
    appointments of bob's, 2% of them upcoming; the ids of alice's first screen."""
    bob, alice = user_id(db, "bob"), user_id(db, "alice")
    appointments = size // 20
    accounts = seed(db, size - appointments, bob)
    own = accounts[::50]
    give(db, own, alice)
    upcoming = appointments // 50
    dated = seed_appointments(db, past_and_upcoming(appointments, upcoming), bob)
    return own + dated[-upcoming:]


def print_screen(key: str, size: int, results: list[Screen]) -> None:
    print("| link | records | device | runs | first usable screen s | whole s | MB down |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for device in ("without first screen", "first screen"):
        runs = [r for r in results if r.device == device]
        print(
            f"| {LINKS[key].name} | {size:,} | {device} | {len(runs)} "
            f"| {statistics.median(r.screen for r in runs):.2f} "
            f"| {statistics.median(r.whole for r in runs):.2f} "
            f"| {statistics.median(r.down for r in runs) / 1e6:.2f} |"
        )


def print_results(results: list[Result]) -> None:
    print(
        "| link | scenario | coding | s | speed-up | MB down | MB up "
        "| CPU ms device / server | device MB |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    plain: dict[tuple[str, str], float] = {}  # the speed-up is against today's, if run
    for r in results:
        if r.coding == "today" or (r.coding == "none" and (r.link, r.scenario) not in plain):
            plain[r.link, r.scenario] = r.seconds
        ratio = plain.get((r.link, r.scenario), r.seconds) / r.seconds
        print(
            f"| {r.link} | {r.scenario} | {r.coding} | {r.seconds:.2f} | {ratio:.1f} | "
            f"{r.down / 1e6:.2f} | {r.up / 1e6:.3f} | {r.used} | {r.device_mb:.0f} |"
        )


def print_thresholds() -> None:
    """What compressing a pull page of each size costs and saves."""
    print()
    print("| page JSON bytes | zstd bytes | zstd µs | gzip bytes | gzip µs |")
    print("|---:|---:|---:|---:|---:|")
    import random

    rng = random.Random(1)
    changes = [
        {"entity": "account", "id": f"{n:08d}-0000-4000-8000-000000000000", "version": n,
         "deleted": False, "record": account(n, rng)}
        for n in range(3000)
    ]  # fmt: skip
    for size in (200, 500, 1000, 1500, 4000, 16000, 64000, 1_000_000):
        body = orjson.dumps({"changes": changes, "cursor": "1.1", "more": True})[:size]
        cells = []
        for coding in (encoding.ZSTD, encoding.GZIP):
            runs = max(1, 200_000 // size)
            started = time.perf_counter()
            for _ in range(runs):
                out = encoding.compress(body, coding)
            cells += [f"{len(out):,}", f"{(time.perf_counter() - started) / runs * 1e6:,.0f}"]
        print(f"| {len(body):,} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slow_link", description=__doc__)
    parser.add_argument("--links", default="20M,2M")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--codings", default=",".join(CODINGS))
    parser.add_argument(
        "--today", help="another version's src directory: its first download, uncompressed"
    )
    parser.add_argument(
        "--pouchdb-batches",
        default=",".join(map(str, POUCHDB_BATCHES)),
        help="PouchDB's batch sizes ('' for no PouchDB)",
    )
    parser.add_argument("--slow-max", type=int, default=10000, help="largest size on 2 Mbit/s")
    parser.add_argument("--screen-size", type=int, help="only the first-screen scenario, this size")
    parser.add_argument("--screen-rounds", type=int, default=2)
    args = parser.parse_args()
    if args.screen_size:
        for key in args.links.split(","):
            screens = run_screen(key, args.screen_size, args.screen_rounds)
            print_screen(key, args.screen_size, screens)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    CODINGS[:] = args.codings.split(",")
    POUCHDB_BATCHES[:] = [int(b) for b in args.pouchdb_batches.split(",") if b]
    results: list[Result] = []
    for key in args.links.split(","):
        run_link(key, sizes, args.slow_max, args.today, results)
    print_results(results)
    print_thresholds()


if __name__ == "__main__":
    main()
