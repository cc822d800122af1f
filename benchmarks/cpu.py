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

from pathlib import Path

PROC = Path("/proc")


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
