"""`python -m benchmarks.scale_out`: pushes and pulls carried by 1 and 2 server processes.

Each run makes a fresh PostgreSQL database, starts `fieldsync serve` processes on
it, and has 16 devices (threads of this process) push 10 edits of their own
records at a time, each device to one process, while pullers beside them ask for
what changed after their last cursor, as a user who owns none of the accounts
(`owned` filter): empty pulls, as a device finds most of the time. A sampler
counts the sessions that wait for a lock (`pg_stat_activity`) every 10 ms: their
sum, times 10 ms, divided by the pushes, is the time each push waited for locks,
about.

The CPU time each party spent while measured (user and system, from
`/proc/<pid>/stat`) is divided by the pushes: the server processes, this
process (the devices and pullers), and the database's backends of the run (so
PostgreSQL must run on this machine). It counts the pulls beside the pushes
too. Unlike pushes per second it hardly depends on what else the machine runs,
and it gives the machine's ceiling: its cores divided by the CPU of one push.

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
from typing import Any

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
    cpu: dict[str, float] = field(default_factory=dict)  # seconds, per party
    connections: int = 0  # opened to the database


PARTIES = ("servers", "client", "database")


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
        cpu = [self.tally.cpu.get(party, 0.0) * 1000 / max(pushes, 1) for party in PARTIES]
        ceiling = (os.cpu_count() or 1) * 1000 / sum(cpu) if sum(cpu) else 0.0
        return (
            f"| {self.version} | {self.processes} | {pushes / self.seconds:,.0f} | {p50:.0f} | "
            f"{wait:.1f} | {self.tally.pulls / self.seconds:,.0f} | "
            + " | ".join(f"{ms:.1f}" for ms in cpu)
            + f" | {ceiling:,.0f} | {self.tally.connections} | {len(self.tally.errors)} |"
        )


HEADER = (
    "| version | processes | pushes/s | push p50 ms | lock wait ms/push | pulls/s "
    "| CPU ms/push: servers | client | database | ceiling pushes/s | connections opened "
    "| errors |"
)


@dataclass
class Cluster:
    """Server processes on one fresh database."""

    urls: list[str]
    pids: list[int]
    database: str


@contextmanager
def cluster(processes: int, src: str | None) -> Iterator[Cluster]:
    """`processes` servers of the version in `src` (None: this one) on a fresh database."""
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
        for _ in range(processes):  # one by one: those started before a failure are stopped
            started.append(spawn(url, env=env))
        yield Cluster([u for _, u in started], [p.pid for p, _ in started], name)
    finally:
        for process, _ in started:
            process.terminate()
            process.wait(timeout=10)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def run(version: str, src: str | None, processes: int, seconds: float) -> Result:
    """Measure one version on `processes` servers for `seconds` (after a warm-up)."""
    with cluster(processes, src) as servers:
        urls, name = servers.urls, servers.database
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
        before, opened = _cpu(servers.pids, name), _sessions(name)
        measuring.set()
        time.sleep(seconds)
        measuring.clear()
        after, tally.connections = _cpu(servers.pids, name), _sessions(name) - opened
        tally.cpu = {party: _spent(before[party], after[party]) for party in PARTIES}
        stop.set()
        for thread in threads:
            thread.join()
    return Result(version, processes, seconds, tally)


def _cpu(servers: list[int], database: str) -> dict[str, dict[int, float]]:
    """CPU seconds used so far by each party's processes: the servers, this process and
    the database's backends that serve `database`."""
    return {
        "servers": {pid: _cpu_of(pid) for pid in servers},
        "client": {os.getpid(): _cpu_of(os.getpid())},
        "database": {pid: _cpu_of(pid) for pid in _backends(database)},
    }


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds a party's processes used between two looks (a backend that started
    between them counts whole; one that ended between them is missed)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _backends(database: str) -> list[int]:
    query = "SELECT pid FROM pg_stat_activity WHERE datname = :name"
    return [int(pid) for pid in _ask(query, database).scalars()]


def _sessions(database: str) -> int:
    """Connections made to `database` so far."""
    query = "SELECT sessions FROM pg_stat_database WHERE datname = :name"
    return int(_ask(query, database).scalar_one())


def _ask(query: str, database: str) -> sa.Result[Any]:
    engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        result = conn.execute(sa.text(query), {"name": database}).freeze()
    engine.dispose()
    return result()


def _cpu_of(pid: int) -> float:
    """User and system CPU seconds of a process on this machine (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    print(HEADER)
    print("|---" * HEADER.count(" | ") + "|---|")
    for _ in range(args.rounds):
        for processes in (1, 2):
            for version, src in versions:
                print(run(version, src, processes, args.seconds).line(), flush=True)


if __name__ == "__main__":
    main()
