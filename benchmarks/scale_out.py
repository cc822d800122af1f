"""`python -m benchmarks.scale_out`: pushes and pulls carried by 1 and 2 server processes.

Each run makes a fresh PostgreSQL database, starts `fieldsync serve` processes on
it, and has 16 devices (threads of this process) push 10 edits of their own
records at a time, each device to one process, while pullers beside them ask for
what changed after their last cursor, as a user who owns none of the accounts
(`owned` filter): empty pulls, as a device finds most of the time. A sampler
counts the sessions that wait for a lock (`pg_stat_activity`) every 10 ms: their
sum, times 10 ms, divided by the pushes, is the time each push waited for locks,
about.

`--source DIR` (repeatable) runs the servers of another version too, from its
`src` directory (its database is prepared by its own `fieldsync user add`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from fieldsync.server.background import spawn

PG_ADMIN = os.environ.get("FIELDSYNC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEVICES, EDITS, PULLERS = 16, 10, 2
SAMPLE = 0.01  # seconds between two looks at the lock waits
PASSWORD = "harbour lantern"


@dataclass
class Tally:
    """What the devices and pullers did while measured."""

    push_seconds: list[float] = field(default_factory=list)
    pulls: int = 0
    lock_waits: int = 0  # sessions seen waiting for a lock, summed over the samples
    errors: list[str] = field(default_factory=list)


@dataclass
class Result:
    """One line of the table."""

    version: str
    processes: int
    seconds: float
    tally: Tally

    def line(self) -> str:
        pushes = len(self.tally.push_seconds)
        p50 = statistics.median(self.tally.push_seconds) * 1000 if pushes else 0.0
        wait = self.tally.lock_waits * SAMPLE * 1000 / pushes if pushes else 0.0
        return (
            f"| {self.version} | {self.processes} | {pushes / self.seconds:,.0f} | {p50:.0f} | "
            f"{wait:.1f} | {self.tally.pulls / self.seconds:,.0f} | {len(self.tally.errors)} |"
        )


@contextmanager
def cluster(processes: int, src: str | None) -> Iterator[tuple[list[str], str]]:
    """`processes` servers of the version in `src` (None: this one) on a fresh database;
    yields their URLs and the database's name."""
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"fieldsync_scale_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    env = {"FIELDSYNC_DEVICES_PER_USER": str(DEVICES + 1)}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(src).resolve()), os.getcwd()])
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for command in (
            ["user", "add", "bench", "--admin", "--password", PASSWORD],
            ["user", "add", "office", "--password", PASSWORD],
            ["project", "set", "account", "--sync-filter", "owned"],
        ):
            fieldsync = [sys.executable, "-m", "fieldsync", *command, "--db", url]
            subprocess.run(
                fieldsync, check=True, env={**os.environ, **env}, stdout=subprocess.DEVNULL
            )
        started = [spawn(url, env=env) for _ in range(processes)]
        yield [u for _, u in started], name
    finally:
        for process, _ in started:
            process.terminate()
            process.wait(timeout=10)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def run(version: str, src: str | None, processes: int, seconds: float) -> Result:
    """Measure one version on `processes` servers for `seconds` (after a warm-up)."""
    with cluster(processes, src) as (urls, name):
        token, office = _login(urls[0], "bench"), _login(urls[0], "office")
        devices = [_Device(urls[n % processes], token) for n in range(DEVICES)]
        tally, stop, measuring = Tally(), threading.Event(), threading.Event()
        threads = [threading.Thread(target=d.loop, args=(stop, measuring, tally)) for d in devices]
        threads += [
            threading.Thread(
                target=_pull, args=(urls[n % processes], office, stop, measuring, tally)
            )
            for n in range(PULLERS)
        ]
        threads.append(threading.Thread(target=_sample, args=(name, stop, measuring, tally)))
        for thread in threads:
            thread.start()
        time.sleep(2)  # warm-up: pools filled, records created
        measuring.set()
        time.sleep(seconds)
        measuring.clear()
        stop.set()
        for thread in threads:
            thread.join()
    return Result(version, processes, seconds, tally)


def _login(url: str, user: str) -> str:
    body = {"username": user, "password": PASSWORD}
    return str(httpx.post(f"{url}/v1/auth/login", json=body, timeout=60).json()["token"])


class _Device:
    """A device editing its own 10 accounts, 10 edits a push."""

    def __init__(self, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=60)
        self.device_id = str(uuid.uuid4())
        self.versions = {str(uuid.uuid4()): 0 for _ in range(EDITS)}

    def loop(self, stop: threading.Event, measuring: threading.Event, tally: Tally) -> None:
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            response = self.client.post("/v1/sync/push", json=self._batch(n))
            took = time.perf_counter() - started
            n += 1
            if response.status_code != 200:
                tally.errors.append(response.text[:200])
                continue
            results = response.json()["results"]
            for record_id, result in zip(list(self.versions), results, strict=True):
                self.versions[record_id] = result["version"]
            if measuring.is_set():
                tally.push_seconds.append(took)
        self.client.close()

    def _batch(self, n: int) -> dict[str, object]:
        changes = []
        for i, (record_id, version) in enumerate(self.versions.items()):
            change: dict[str, object] = {"change_id": f"c{i}", "entity": "account", "id": record_id}
            if version:
                change |= {"op": "update", "base_version": version, "fields": {"city": f"C{n}"}}
            else:
                change |= {"op": "create", "fields": {"name": f"Account {i}"}}
            changes.append(change)
        return {"device_id": self.device_id, "batch_id": str(uuid.uuid4()), "changes": changes}


def _pull(
    url: str, token: str, stop: threading.Event, measuring: threading.Event, tally: Tally
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        cursor = ""
        while not stop.is_set():
            response = client.get("/v1/sync/pull", params={"cursor": cursor, "limit": 100})
            if response.status_code != 200:
                tally.errors.append(response.text[:200])
                continue
            cursor = response.json()["cursor"]
            if measuring.is_set():
                tally.pulls += 1


def _sample(name: str, stop: threading.Event, measuring: threading.Event, tally: Tally) -> None:
    engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND wait_event_type = 'Lock'"
    )
    with engine.connect() as conn:
        while not stop.is_set():
            seen = int(conn.execute(waiting, {"name": name}).scalar_one())
            if measuring.is_set():
                tally.lock_waits += seen
            time.sleep(SAMPLE)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_out", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured per run")
    parser.add_argument(
        "--source", action="append", default=[], help="another version's src directory"
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of each line, in turn")
    args = parser.parse_args()
    versions: list[tuple[str, str | None]] = [
        (Path(s).resolve().parent.name, s) for s in args.source
    ]
    versions.append(("this", None))
    print("| version | processes | pushes/s | push p50 ms | lock wait ms/push | pulls/s | errors |")
    print("|---|---|---|---|---|---|---|")
    for _ in range(args.rounds):
        for processes in (1, 2):
            for version, src in versions:
                print(run(version, src, processes, args.seconds).line(), flush=True)


if __name__ == "__main__":
    main()
