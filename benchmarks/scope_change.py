"""`python -m benchmarks.scope_change`: what a sync filter change costs a device's next sync.

Accounts seeded straight into the database (untimed), a share of them owned by
alice, the rest by bob. Two of alice's devices hold the same scope; the filter of
`account` changes (owned → all, then all → owned) and one device syncs as it does
now (it receives the difference), the other as it had to before: a full
re-download of its scope, dropping what the server no longer sends. Per sync:
the changes and bytes the server sent, the time, and the CPU time of the device,
the server and PostgreSQL.

    python -m benchmarks.scope_change --backend both --size 100000 --owned 10000
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks import cpu
from benchmarks.__main__ import OFFICE, ServerProcess, database
from benchmarks.data import seed, user_id
from fieldsync.device import Device
from fieldsync.device.pull import PAGE_SIZE, start_resync
from fieldsync.server import admin
from fieldsync.server.db import Database


@dataclass
class Line:
    """One line of the table."""

    change: str
    backend: str
    how: str
    changes: int
    megabytes: float
    seconds: float
    cpu_time: cpu.Cpu


def set_filter(db: Database, sync_filter: str) -> None:
    with db.write() as conn:
        admin.update_entity(conn, OFFICE, "account", {"sync_filter": sync_filter})


def sent(server: ServerProcess, directory: Path, everything: bool) -> tuple[int, int]:
    """The changes and bytes the device's next pull gets, read page by page as it asks
    (from where it stands, or from the start for a full download); changes nothing."""
    device = Device(directory)
    cursor = "" if everything else device.store.get_meta("cursor", "")
    token = device.store.get_meta("token")
    device.close()
    changes = size = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
        while True:
            answer = client.get("/v1/sync/pull", params={"cursor": cursor, "limit": PAGE_SIZE})
            answer.raise_for_status()
            page = answer.json()
            changes, size = changes + len(page["changes"]), size + len(answer.content)
            if not page["more"]:
                return changes, size
            cursor = page["cursor"]


def redownload(directory: Path) -> None:
    """Make the device download its whole scope at its next sync (as after a 410)."""
    device = Device(directory)
    start_resync(device.store)
    device.close()


def measure(server: ServerProcess, change: str, backend: str, directory: Path, full: bool) -> Line:
    if full:
        redownload(directory)
    changes, size = sent(server, directory, full)
    step: dict[str, Any] = server.task("sync", directory)
    how = "full re-download" if full else "difference"
    return Line(change, backend, how, changes, size / 1e6, step["seconds"], step["cpu"])


def run(backend: str, pg: str, size: int, owned: int, lines: list[Line]) -> None:
    with database(backend, pg) as db, tempfile.TemporaryDirectory() as tmp:
        seed(db, owned, user_id(db, "alice"))
        seed(db, size - owned, user_id(db, "bob"))
        set_filter(db, "owned")
        server = ServerProcess(db)
        try:
            phone, tablet = Path(tmp) / "phone", Path(tmp) / "tablet"
            for directory in (phone, tablet):
                server.task("login", directory)
                server.task("sync", directory)
            for old, new in (("owned", "all"), ("all", "owned")):
                set_filter(db, new)
                lines.append(measure(server, f"{old} → {new}", backend, phone, False))
                lines.append(measure(server, f"{old} → {new}", backend, tablet, True))
        finally:
            server.stop()


def print_table(lines: list[Line]) -> None:
    print(
        "| filter change | backend | next sync | changes | MB sent | ms "
        "| CPU ms device / server / db |"
    )
    print("|---|---|---|---:|---:|---:|---:|")
    for x in lines:
        print(
            f"| {x.change} | {x.backend} | {x.how} | {x.changes:,} | {x.megabytes:,.1f} | "
            f"{x.seconds * 1000:,.0f} | {x.cpu_time} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scope_change", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--size", type=int, default=100_000, help="accounts on the server")
    parser.add_argument(
        "--owned", type=int, default=10_000, help="of them alice's (not half: seeded ids repeat)"
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("FIELDSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    lines: list[Line] = []
    for backend in backends:
        run(backend, args.pg, args.size, args.owned, lines)
    print_table(lines)


if __name__ == "__main__":
    main()
