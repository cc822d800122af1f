"""`python -m benchmarks.paired OLD NEW`: two versions of fieldsync, timed in turns.

On a machine whose speed drifts (runs of one commit ten minutes apart have
differed by 55%), two full benchmark runs one after the other compare the
machine as much as the code. Here each version gets a server of its own (its
own database, seeded alike, the old one's taken down to its schema) and a
device of its own, each running that version's code (`PYTHONPATH=<src>`), and
their syncs alternate: old, new, new,
old, … Each pair ran within seconds of each other, so the median of the pairs'
ratios (new / old) tells the change apart from the drift.

    git worktree add /tmp/old <commit>
    python -m benchmarks.paired /tmp/old/src src --backend postgresql --runs 12
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks import cpu
from benchmarks.__main__ import (
    POLICIES,
    database,
    down_to_schema_of,
    keep_server_versions,
    office_edits,
    set_policy,
    task,
)
from benchmarks.data import seed, user_id
from fieldsync.server.background import spawn
from fieldsync.server.db import Database

# download: a fresh device's first download of every record; children: 1k new contacts
# under 1k accounts; choices: the sync that applies the user's
# choices for 1k User Action conflicts.
SCENARIOS = ("download", "push", "children", "choices", *POLICIES)


class Side:
    """One version: its code, its server and database, its device."""

    def __init__(self, name: str, src: str, stack: ExitStack, backend: str, args: Any) -> None:
        self.name = name
        self.env = {"PYTHONPATH": os.pathsep.join([str(Path(src).resolve()), os.getcwd()])}
        self.db: Database = stack.enter_context(database(backend, args.pg))
        if name == "old":
            down_to_schema_of(self.db, src)
        ids = seed(self.db, args.size, user_id(self.db, "alice"))
        self.first = sorted(ids)[:1000]  # the records the device task edits
        self.process, self.url = spawn(self.db.url, env=self.env)
        stack.callback(self.process.terminate)
        self.phone = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "phone"
        self.task("login")
        self.task("sync")

    def task(self, name: str, count: int = 0) -> dict[str, Any]:
        """A device task of this version, in its own process, with what it cost each
        process (`cpu`)."""

        def run() -> dict[str, Any]:
            return task(name, self.phone, self.url, count, self.env)

        return cpu.measured(self.process.pid, not self.db.is_sqlite, run)

    def first_download(self) -> dict[str, Any]:
        """A fresh device of this version downloads every record: a timed sync."""
        with tempfile.TemporaryDirectory() as tmp:
            phone = Path(tmp) / "phone"
            task("login", phone, self.url, 0, self.env)
            return cpu.measured(
                self.process.pid,
                not self.db.is_sqlite,
                lambda: task("sync", phone, self.url, 0, self.env),
            )

    def timed_sync(self, scenario: str, run: int) -> dict[str, Any]:
        """The device edits 1k records or makes 1k `children` (and, for a conflict, the
        office edits them too): a timed sync. For `choices`, the sync after it is timed."""
        if scenario == "download":
            return self.first_download()
        self.task("children" if scenario == "children" else "edit", 1000)
        if scenario in (*POLICIES, "choices"):  # conflicts: the office edits them too
            office_edits(self.db, self.first, {"city": f"Office {scenario} {run}"})
        timed = self.task("sync")
        if _policy(scenario) == "user_action":
            keep_server_versions(self.phone)
            choices = self.task("sync")
            timed = choices if scenario == "choices" else timed
        return timed


def _policy(scenario: str) -> str:
    """The On Conflict policy a scenario runs under."""
    if scenario in POLICIES:
        return scenario
    return "user_action" if scenario == "choices" else "server_wins"


def compare(old: Side, new: Side, scenario: str, runs: int) -> str:
    """`runs` pairs of syncs, in alternating order; a line of the table."""
    for side in (old, new):
        set_policy(side.db, _policy(scenario))
    syncs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    for run in range(runs):
        pair = (old, new) if run % 2 == 0 else (new, old)
        for side in pair:
            syncs[side.name].append(side.timed_sync(scenario, run))
    ms = {name: [s["seconds"] * 1000 for s in done] for name, done in syncs.items()}
    ratios = [n / o for o, n in zip(ms["old"], ms["new"], strict=True)]
    used = {name: _median_cpu([s["cpu"] for s in done]) for name, done in syncs.items()}
    return (
        f"| {scenario} | {statistics.median(ms['old']):,.0f} | "
        f"{statistics.median(ms['new']):,.0f} | {statistics.median(ratios):.2f} | "
        f"{min(ratios):.2f} to {max(ratios):.2f} | {used['old']} | {used['new']} |"
    )


def _median_cpu(shares: list[cpu.Cpu]) -> cpu.Cpu:
    """Each process's median share (CPU time is far steadier than the wall clock)."""
    databases = [s.database for s in shares if s.database is not None]
    return cpu.Cpu(
        statistics.median(s.device for s in shares),
        statistics.median(s.server for s in shares),
        statistics.median(databases) if databases else None,
    )


def two_versions(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The arguments of a comparison of two versions (here and `benchmarks.instructions`)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("old", help="the old version's src directory")
    parser.add_argument("new", help="the new version's src directory")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--scenarios", default="push,full_device_wins", help=", ".join(SCENARIOS))
    parser.add_argument(
        "--pg",
        default=os.environ.get("FIELDSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    return parser


def scenarios_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The scenarios asked for (the parser refuses an unknown one)."""
    scenarios: list[str] = args.scenarios.split(",")
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    return scenarios


def main() -> None:
    parser = two_versions("python -m benchmarks.paired", __doc__)
    parser.add_argument("--runs", type=int, default=12, help="pairs of syncs per scenario")
    parser.add_argument("--size", type=int, default=20_000, help="records on each server")
    args = parser.parse_args()
    scenarios = scenarios_of(parser, args)
    print(
        f"| scenario ({args.backend}) | old ms | new ms | new / old | pairs "
        "| old CPU ms device / server / db | new CPU ms |"
    )
    print("|---|---:|---:|---:|---|---:|---:|")
    with ExitStack() as stack:
        old = Side("old", args.old, stack, args.backend, args)
        new = Side("new", args.new, stack, args.backend, args)
        for scenario in scenarios:
            print(compare(old, new, scenario, args.runs), flush=True)


if __name__ == "__main__":
    main()
