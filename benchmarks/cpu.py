"""The CPU time a sync cost each process: the device, the server and PostgreSQL.

On one machine of 2 cores, the device, the server and PostgreSQL share the cores:
a sync's time is set by how much CPU they need together, and by how much of it
has to happen one after the other. Read from Linux's scheduler statistics
(`/proc/PID/task/*/schedstat`: nanoseconds on a CPU, per thread), so a sync of
~100 ms is measured to the microsecond, not to the 10 ms tick of `/proc/PID/stat`.
PostgreSQL's share is that of every `postgres` process of the machine (its
connections' backends and its writers): nothing else should use it meanwhile.
A process that ends during a sync takes its share along.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")


@dataclass
class Cpu:
    """The CPU time a device task cost each process (PostgreSQL's: None on SQLite, where
    the database works inside the server process)."""

    device: float
    server: float
    database: float | None

    def __str__(self) -> str:
        shares = (self.device, self.server, self.database)
        return " / ".join(f"{s * 1000:,.0f}" for s in shares if s is not None)


def measured(
    server_pid: int, postgresql: bool, task: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Run a device task (`benchmarks.device_task`, whose answer gives its own CPU time
    as `cpu_seconds`) and add to its answer what it cost each process (`cpu`)."""
    server = process_seconds(server_pid)
    database = postgres_seconds() if postgresql else None
    answer = task()
    server = process_seconds(server_pid) - server
    if database is not None:
        database = postgres_seconds() - database
    answer["cpu"] = Cpu(answer["cpu_seconds"], server, database)
    return answer


def process_seconds(pid: int) -> float:
    """The CPU time of every thread of a process so far (0 once it is gone)."""
    total = 0
    for stat in PROC.glob(f"{pid}/task/*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, IndexError, ValueError):  # the thread ended meanwhile
            continue
    return total / 1e9


def postgres_seconds() -> float:
    """The CPU time of every PostgreSQL process of the machine so far."""
    total = 0.0
    for comm in PROC.glob("[0-9]*/comm"):
        try:
            is_postgres = comm.read_text().startswith("postgres")
        except OSError:
            continue
        if is_postgres:
            total += process_seconds(int(comm.parent.name))
    return total
