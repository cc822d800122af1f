"""`python -m benchmarks`: time fieldsync's sync paths over real HTTP and print a table.

The server runs in its own process (`fieldsync serve`), each device task in its
own process too, so their peak memory is theirs alone. Seeding goes straight into
the database and is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from benchmarks import cpu
from benchmarks.data import record_size, seed, user_id
from benchmarks.machine import calibrate
from fieldsync.server import admin, crm, migrate
from fieldsync.server.background import spawn
from fieldsync.server.db import Database
from fieldsync.server.users import Principal

OFFICE = Principal(user_id="benchmark", username="benchmark", role="admin")
POLICIES = ("server_wins", "partial_device_wins", "full_device_wins", "user_action")


@dataclass
class Row:
    """One line of the result table."""

    scenario: str
    backend: str
    records: int
    seconds: float
    device_mb: float | None = None
    server_mb: float | None = None
    note: str = ""
    cpu_time: cpu.Cpu | None = None

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@contextmanager
def database(backend: str, pg_admin_url: str) -> Iterator[Database]:
    """A fresh, prepared database of the backend."""
    # What earlier runs left unwritten (a 1M device store is ~0.6 GB) would otherwise be
    # written back during this run and slow its fsyncs (PostgreSQL's commits).
    os.sync()
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(str(Path(tmp) / "bench.db"))
            db.prepare()
            yield db
            db.dispose()
        return
    admin_engine = sa.create_engine(Database(pg_admin_url).url, isolation_level="AUTOCOMMIT")
    name = f"fieldsync_bench_{uuid.uuid4().hex[:8]}"
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = Database(str(sa.make_url(Database(pg_admin_url).url).set(database=name)))
    try:
        db.prepare()
        yield db
    finally:
        db.dispose()
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


def down_to_schema_of(db: Database, src: str) -> None:
    """Take `db` down to the schema revision of an older version's code (`src`: its
    source), which refuses a database of a newer schema."""
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    revision = subprocess.run(
        [sys.executable, "-c", "from fieldsync.server import migrate; print(migrate.head())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with db.engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrate.MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


class ServerProcess:
    """`fieldsync serve` in its own process; knows its peak memory."""

    def __init__(self, db: Database) -> None:
        self.process, self.url = spawn(db.url)
        self.postgresql = not db.is_sqlite

    def task(self, name: str, directory: Path, count: int = 0) -> dict[str, Any]:
        """A device task (`task`) against this server, with the CPU time each process
        spent on it (`cpu`)."""

        def run() -> dict[str, Any]:
            return task(name, directory, self.url, count)

        return cpu.measured(self.process.pid, self.postgresql, run)

    def peak_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def task(
    name: str, directory: Path, url: str, count: int = 0, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one device task in its own process (`env` added to this one's) and return
    what it measured."""
    command = [sys.executable, "-m", "benchmarks.device_task", name, str(directory), url]
    done = subprocess.run(
        [*command, str(count)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"device task {name} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def office_edits(db: Database, ids: list[str], values: dict[str, Any]) -> None:
    """The back office changes these records (untimed), in one transaction."""
    with db.write() as conn:
        for record_id in ids:
            crm.update(conn, OFFICE, "account", record_id, values, None)


def set_policy(db: Database, policy: str, detection: str = "record") -> None:
    with db.write() as conn:
        admin.update_entity(
            conn, OFFICE, "account", {"on_conflict": policy, "conflict_detection": detection}
        )


def run_size(backend: str, size: int, pg: str, full: bool, rows: list[Row], repeat: int) -> None:
    """Initial pull of `size` records, 1k server changes, 1k device edits; with `full`,
    the 1k conflict scenarios on the same data. Pushes and conflicts run `repeat`
    times: the table shows the median run."""
    with database(backend, pg) as db, tempfile.TemporaryDirectory() as tmp:
        alice = user_id(db, "alice")
        ids = seed(db, size, alice)
        server = ServerProcess(db)
        try:
            phone = Path(tmp) / "phone"
            server.task("login", phone)
            pulled = server.task("sync", phone)
            assert pulled["report"]["pulled"] == size, pulled
            rows.append(row("initial pull", backend, size, pulled))
            office_edits(db, ids[-1000:], {"city": "Changed in the office"})
            step = server.task("sync", phone)
            rows.append(row(f"incremental 1k of {size // 1000}k", backend, 1000, step))
            step, spread = timed_pushes(phone, server, repeat)
            rows.append(row(f"push 1k edits, {size // 1000}k", backend, 1000, step, spread))
            step, spread = timed_pushes(phone, server, repeat, edit="children")
            label = "push 1k new contacts under 1k accounts"
            rows.append(row(label, backend, 1000, step, spread))
            if full:
                run_conflicts(db, backend, ids, phone, server, rows, repeat)
            rows[-1].server_mb = server.peak_mb()
        finally:
            server.stop()


def row(scenario: str, backend: str, records: int, step: dict[str, Any], note: str = "") -> Row:
    """A line of the table from a timed device task (`ServerProcess.task`)."""
    seconds, peak, used = step["seconds"], step["peak_mb"], step["cpu"]
    return Row(scenario, backend, records, seconds, peak, note=note, cpu_time=used)


def run_conflicts(
    db: Database,
    backend: str,
    ids: list[str],
    phone: Path,
    server: ServerProcess,
    rows: list[Row],
    repeat: int,
) -> None:
    """1k conflicts under each policy, then 1k field-level merges."""
    first = sorted(ids)[:1000]  # the records the device task edits
    choices: list[dict[str, Any]] = []  # the syncs that apply the user's choices

    def choose() -> None:
        choices.append(resolve_all(phone, server))

    for policy in POLICIES:
        set_policy(db, policy)

        def office(n: int, policy: str = policy) -> None:  # the office edits them too
            office_edits(db, first, {"city": f"Office {policy} {n}"})

        after = choose if policy == "user_action" else None
        step, spread = timed_pushes(phone, server, repeat, office=office, after=after)
        report = step["report"]
        outcome = {
            k: v
            for k, v in report.items()
            if k in ("merged", "server_wins", "device_wins", "conflicts") and v
        }
        note = ", ".join(f"{k} {v}" for k, v in outcome.items())
        rows.append(row(f"1k conflicts, {policy}", backend, 1000, step, f"{note}; {spread}"))
    step, spread = median(choices)
    rows.append(row("1k User Action choices applied", backend, 1000, step, spread))
    set_policy(db, "server_wins", "field")
    step, spread = timed_pushes(  # disjoint fields: merged silently
        phone, server, repeat, office=lambda n: office_edits(db, first, {"phone": f"+421 00{n}"})
    )
    note = f"merged {step['report']['merged']}; {spread}"
    rows.append(row("1k field-level merges", backend, 1000, step, note))


def timed_pushes(
    phone: Path,
    server: ServerProcess,
    repeat: int,
    office: Callable[[int], None] | None = None,
    after: Callable[[], None] | None = None,
    edit: str = "edit",
) -> tuple[dict[str, Any], str]:
    """`repeat` times: the device edits 1k records (or makes 1k `children`) and the
    `office` too, with the run's number, then a timed sync, then `after`; the median
    run and the spread."""
    steps = []
    for n in range(repeat):
        server.task(edit, phone, 1000)
        if office:
            office(n)
        steps.append(server.task("sync", phone))
        if after:
            after()
    return median(steps)


def median(steps: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """The median of timed runs, and their spread for the table's note."""
    ordered = sorted(steps, key=lambda s: float(s["seconds"]))
    if len(ordered) == 1:
        return ordered[0], ""
    low, high = ordered[0]["seconds"] * 1000, ordered[-1]["seconds"] * 1000
    return ordered[len(ordered) // 2], f"median of {len(ordered)}, {low:,.0f} to {high:,.0f} ms"


def resolve_all(phone: Path, server: ServerProcess) -> dict[str, Any]:
    """The user keeps the server's version of every open conflict (untimed), and syncs."""
    keep_server_versions(phone)
    return server.task("sync", phone)


def keep_server_versions(phone: Path) -> None:
    """The user chooses the server's version for every open conflict on the device."""
    from fieldsync.device import Device

    device = Device(phone)
    device.resolve_all("server")
    device.close()


def run_concurrent(backend: str, pg: str, rows: list[Row], devices: int = 50) -> None:
    """`devices` devices at once, each with 100 edits of which 10 conflict."""
    with database(backend, pg) as db, tempfile.TemporaryDirectory() as tmp:
        alice = user_id(db, "alice")
        ids = seed(db, devices * 100, alice)
        server = ServerProcess(db)
        try:
            dirs = [Path(tmp) / f"d{i}" for i in range(devices)]
            for directory in dirs:
                server.task("login", directory)
                server.task("sync", directory)
            for i, directory in enumerate(dirs):
                _edit_slice(directory, ids[i * 100 : (i + 1) * 100])
            office_edits(
                db,
                [ids[i * 100 + k] for i in range(devices) for k in range(10)],
                {"city": "Office"},
            )
            seconds, reports, failed = _sync_at_once(dirs)
            server_won = sum(r["server_wins"] for r in reports)
            rows.append(
                Row(
                    f"{devices} devices at once",
                    backend,
                    devices * 100,
                    seconds,
                    None,
                    server.peak_mb(),
                    f"errors {failed}, conflicts {server_won}",
                )
            )
        finally:
            server.stop()


def _sync_at_once(dirs: list[Path]) -> tuple[float, list[dict[str, Any]], int]:
    """Every device syncs at the same moment, each in its own thread of this process."""
    from fieldsync.device import Device

    devices = [Device(d) for d in dirs]
    reports: list[dict[str, Any]] = []
    failures: list[BaseException] = []
    gate = threading.Barrier(len(devices) + 1)

    def sync(device: Device) -> None:
        gate.wait()
        try:
            reports.append(device.sync().as_dict())
        except Exception as failure:
            failures.append(failure)

    threads = [threading.Thread(target=sync, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for device in devices:
        device.close()
    return seconds, reports, len(failures)


def _edit_slice(directory: Path, ids: list[str]) -> None:
    from fieldsync.device import Device

    device = Device(directory)
    for record_id in ids:
        device.update("account", record_id, {"zip": f"{time.time_ns() % 100000:05d}"})
    device.close()


def print_table(rows: list[Row]) -> None:
    """The results; "CPU ms": what the sync cost the device, the server and PostgreSQL."""
    print(
        "| scenario | backend | records | ms | records/s | CPU ms device / server / db "
        "| device MB | server MB | note |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        device = f"{r.device_mb:.0f}" if r.device_mb else ""
        server = f"{r.server_mb:.0f}" if r.server_mb else ""
        print(
            f"| {r.scenario} | {r.backend} | {r.records:,} | {r.seconds * 1000:,.0f} | "
            f"{r.rate:,.0f} | {r.cpu_time or ''} | {device} | {server} | {r.note} |"
        )


def print_machine(machine: list[tuple[str, float]]) -> None:
    """How fast the machine was (see `benchmarks.machine`), under the results."""
    print()
    print("| machine | per second |")
    print("|---|---:|")
    for what, rate in machine:
        print(f"| {what} | {rate:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--sizes", default="10000,100000", help="initial pull sizes")
    parser.add_argument("--devices", type=int, default=50, help="devices syncing at once (0: skip)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each push and conflict scenario (median)"
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("FIELDSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[Row] = []
    print(
        f"record size: {record_size()} bytes of JSON; machine: {os.cpu_count()} cores",
        file=sys.stderr,
    )
    machine = calibrate()
    for backend in backends:
        for size in sizes:
            run_size(backend, size, args.pg, size == max(sizes), rows, args.repeat)
        if args.devices:
            run_concurrent(backend, args.pg, rows, args.devices)
    print_table(rows)
    print_machine(machine)


if __name__ == "__main__":
    main()
