"""One timed device task in its own process, so its peak memory is its own.

    python -m benchmarks.device_task login|edit|children|sync|screen|plain-screen DIR SERVER [COUNT]

Prints one JSON line: {"seconds", "cpu_seconds", "peak_mb", "report"} (`cpu_seconds`: this
process's CPU time during the timed sync, all its threads). `screen` is a sync that
also says when the records of the worker's first screen (the ids in the JSON file
`$FIELDSYNC_BENCH_SCREEN`) were all stored, as another reader of the store sees them
(`screen_seconds`); `plain-screen` the same without asking for the first screen.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path

from fieldsync.device import Device


def _timed_sync(device: Device) -> tuple[float, float, dict[str, object]]:
    cpu, started = time.process_time(), time.perf_counter()
    report = device.sync()
    return time.perf_counter() - started, time.process_time() - cpu, report.as_dict()


def main(task: str, directory: str, server: str, count: int = 0) -> None:
    report: dict[str, object]
    cpu = 0.0
    if task == "login":
        Device.login(Path(directory), server, "alice", "secret").close()
        seconds, report = 0.0, {}
    else:
        device = Device(Path(directory))
        if task in CHANGES:  # changes made locally (untimed), no sync
            CHANGES[task](device, count)
            seconds, report = 0.0, {}
        elif task.endswith("screen"):
            if task == "plain-screen":  # the ordinary download alone, as before the first screen
                # Imported here: other versions' devices (`benchmarks.paired`) have none.
                from fieldsync.device import first_screen

                first_screen.wanted = lambda _store: False
            seconds, cpu, report = _timed_screen(device)
        else:
            seconds, cpu, report = _timed_sync(device)
        device.close()
    print(
        json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak_mb(), "report": report})
    )


def _timed_screen(device: Device) -> tuple[float, float, dict[str, object]]:
    """`_timed_sync`, and the seconds until the first screen's records were all stored."""
    wanted = json.loads(Path(os.environ["FIELDSYNC_BENCH_SCREEN"]).read_text())
    stored = threading.Event()
    started = time.perf_counter()
    at: list[float] = []

    def watch() -> None:
        reader = sqlite3.connect(device.directory / "device.db")
        query = "SELECT count(*) FROM records WHERE id IN (SELECT value FROM json_each(?))"
        ids = json.dumps(wanted)
        while not stored.is_set():
            if reader.execute(query, (ids,)).fetchone()[0] == len(wanted):
                at.append(time.perf_counter() - started)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    seconds, cpu, report = _timed_sync(device)
    watcher.join(5)
    stored.set()
    return seconds, cpu, {**report, "screen_seconds": at[0] if at else None}


def edit(device: Device, count: int) -> None:
    """Edit the first `count` accounts by id."""
    city = f"Device {time.time_ns()}"  # a new value every time, so every edit counts
    for record_id in _accounts(device, count, "ASC"):
        device.update("account", record_id, {"city": city})


def children(device: Device, count: int) -> None:
    """A new contact under each of the last `count` accounts."""
    for n, account_id in enumerate(_accounts(device, count, "DESC")):
        device.create("contact", {"lastname": f"Contact {n}", "account": account_id})


CHANGES = {"edit": edit, "children": children}


def _accounts(device: Device, count: int, order: str) -> list[str]:
    """The first (ASC) or last (DESC) `count` accounts on the device, by id."""
    rows = device.store.conn.execute(
        f"SELECT id FROM records WHERE entity = 'account' ORDER BY id {order} LIMIT ?", (count,)
    )
    return [record_id for (record_id,) in rows]


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would count the parent's pre-exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
