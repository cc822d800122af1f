"""`python -m benchmarks.instructions OLD NEW`: two versions' syncs, counted in instructions.

On a shared machine the wall clock and even CPU time drift from run to run (on
the ninth round's machine, `benchmarks.paired` pairs of one change spread from
0.73 to 1.44). The instructions a process executes do not: counted by valgrind's
callgrind, the same sync of the same code costs the same to within ~0.5%, whatever
else the machine is doing. Here each version gets a database of its own (seeded
alike), a server and a device process running its code (`PYTHONPATH=<src>`), both
under callgrind, which counts only while a timed sync runs. What it cannot show:
time spent waiting (I/O, locks, the other process) and PostgreSQL's own work (see
`benchmarks.paired` for both). Needs valgrind and gcc (callgrind.h comes with
valgrind); under it a sync runs ~50 times slower, so stores are small (3k records).

    git worktree add /tmp/old <commit>
    python -m benchmarks.instructions /tmp/old/src src --scenarios push,full_device_wins
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from benchmarks.__main__ import database, down_to_schema_of, office_edits, set_policy
from benchmarks.data import seed, user_id
from benchmarks.paired import _policy, scenarios_of, two_versions
from fieldsync.server.background import free_port
from fieldsync.server.db import Database

# Dumped before the count stops: a dump after it reads zero.
COUNTER_C = """
#include <valgrind/callgrind.h>
void count_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void count_stop(void) { CALLGRIND_DUMP_STATS; CALLGRIND_STOP_INSTRUMENTATION; }
"""

RECORDS = 3_000
CHANGES = 1_000


def build_counter(directory: Path) -> Path:
    """The shared library whose two functions start and stop callgrind's count."""
    source, library = directory / "counter.c", directory / "counter.so"
    source.write_text(COUNTER_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", library, source], check=True)
    return library


def callgrind(out: Path, command: list[str]) -> list[str]:
    """`command` under callgrind, counting nothing until told to."""
    counter = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    return counter + command


def last_count(out: Path) -> int:
    """The instructions of the newest dump callgrind wrote to `out`.N."""
    dumps = sorted(out.parent.glob(f"{out.name}.*"), key=lambda p: int(p.suffix[1:]))
    for line in dumps[-1].read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in {dumps[-1]}")


class Side:
    """One version: its database, its server and its device, each under callgrind."""

    def __init__(
        self, name: str, src: str, stack: ExitStack, args: argparse.Namespace, work: Path
    ) -> None:
        self.name, self.work = name, work / name
        self.work.mkdir()
        code = Path(src).resolve()
        self.db: Database = stack.enter_context(database(args.backend, args.pg))
        if name == "old":
            down_to_schema_of(self.db, src)
        self.first = sorted(seed(self.db, RECORDS, user_id(self.db, "alice")))[:CHANGES]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(code), os.getcwd()]),
            "FIELDSYNC_COUNTER": str(args.counter),
        }
        port = free_port()
        serve = [sys.executable, "-m", "fieldsync", "serve", "--db", self.db.url]
        self.server = subprocess.Popen(
            callgrind(self.work / "server", [*serve, "--port", str(port)]),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(_stop, self.server)
        url = f"http://127.0.0.1:{port}"
        _wait_for(url, self.server)
        self.device = subprocess.Popen(
            callgrind(
                self.work / "device",
                [sys.executable, "-m", "benchmarks.device_loop", str(self.work / "phone"), url],
            ),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        stack.callback(_stop, self.device)
        self.ask("login")
        self.ask("sync")

    def ask(self, command: str) -> str:
        """Have the device do `command`; its answer."""
        assert self.device.stdin is not None
        assert self.device.stdout is not None
        self.device.stdin.write(command + "\n")
        self.device.stdin.flush()
        answer = self.device.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise RuntimeError(f"device {self.name}: {command}: {answer or 'no answer'}")
        return answer

    def counted_sync(self, scenario: str, run: int) -> tuple[int, int]:
        """The device makes its changes (and the office its edits, for a conflict); the
        next sync counted: (device, server) instructions."""
        self.ask(f"{'children' if scenario == 'children' else 'edit'} {CHANGES}")
        if scenario != "push" and scenario != "children":
            office_edits(self.db, self.first, {"city": f"Office {scenario} {run}"})
        if scenario == "choices":
            self.ask("sync")
            self.ask("keep-server")
        self._server_counting(True)
        self.ask("counted-sync")
        self._server_counting(False)
        if _policy(scenario) == "user_action" and scenario != "choices":
            self.ask("keep-server")
            self.ask("sync")
        return last_count(self.work / "device"), last_count(self.work / "server")

    def _server_counting(self, on: bool) -> None:
        """Start (zeroed) or stop the server's count; stopping writes it to a new file.

        The server takes a command when it next runs (its event loop wakes every
        0.1 s); callgrind_control waits until it has."""
        pid = str(self.server.pid)
        steps = [["-z"], ["-i", "on"]] if on else [["-d"], ["-i", "off"]]
        for step in steps:
            subprocess.run(["callgrind_control", *step, pid], check=True, capture_output=True)


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    """Until the server answers /health (under callgrind it starts in ~30 s)."""
    deadline = time.monotonic() + 600
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server under callgrind did not start")
        time.sleep(1)


def _stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def compare(old: Side, new: Side, scenario: str, runs: int) -> str:
    """A line of the table: each version's median count over `runs` syncs."""
    for side in (old, new):
        set_policy(side.db, _policy(scenario))
    counts = {}
    for side in (old, new):  # a count does not drift: no need to take turns
        side.counted_sync(scenario, -1)  # a warm-up: the first sync of a kind costs ~5% more
        counts[side.name] = [side.counted_sync(scenario, run) for run in range(runs)]
    device = {name: statistics.median(c[0] for c in done) / 1e6 for name, done in counts.items()}
    server = {name: statistics.median(c[1] for c in done) / 1e6 for name, done in counts.items()}
    return (
        f"| {scenario} | {device['old']:,.1f} | {device['new']:,.1f} | "
        f"{device['new'] / device['old']:.3f} | {server['old']:,.1f} | {server['new']:,.1f} | "
        f"{server['new'] / server['old']:.3f} |"
    )


def main() -> None:
    parser = two_versions("python -m benchmarks.instructions", __doc__)
    parser.add_argument("--runs", type=int, default=3, help="counted syncs per scenario")
    parser.add_argument(
        "--keep", type=Path, help="keep callgrind's files here (read them with callgrind_annotate)"
    )
    args = parser.parse_args()
    scenarios = scenarios_of(parser, args)
    print(
        f"| scenario ({args.backend}, M instructions) | device old | new | new / old "
        "| server old | new | new / old |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    with ExitStack() as stack:
        work = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        args.counter = build_counter(work)
        old = Side("old", args.old, stack, args, work)
        new = Side("new", args.new, stack, args, work)
        for scenario in scenarios:
            print(compare(old, new, scenario, args.runs), flush=True)


if __name__ == "__main__":
    main()
