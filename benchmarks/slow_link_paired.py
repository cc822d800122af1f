"""`python -m benchmarks.slow_link_paired TODAY NAME=SRC...`: first downloads over a shaped
link, in turns.

On a machine loaded by other work a single run compares the load as much as the code
(see `benchmarks.paired`). Here one server of this version holds the records and a
device of each version `SRC` (`PYTHONPATH=<src>`, zstd) downloads them through the
link in turns (the order reversed every round), after a download by `TODAY`'s server
and device (its src directory; uncompressed, on a copy of the database at its schema).
Prints each version's median, its speed-up over `TODAY` and the median of its ratios
to the first version within a round.

    python -m benchmarks.slow_link_paired /tmp/old/src this=src big=/tmp/big/src --runs 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import cpu
from benchmarks.__main__ import database, task
from benchmarks.data import seed, user_id
from benchmarks.shaping import ShapedProxy
from benchmarks.slow_link import LINKS, at_revision_of, started


class Side:
    """A server behind its own shaped link, and the environment of its devices."""

    def __init__(self, db_url: str, env: dict[str, str], link: str) -> None:
        self.env = env
        self.process, url = started(db_url, env)
        self.proxy = ShapedProxy(int(url.rsplit(":", 1)[1]), LINKS[link])

    def download(self, phone: Path, env: dict[str, str]) -> dict[str, Any]:
        """A fresh device's first download, timed, with each process's CPU."""
        task("login", phone, self.proxy.url, 0, env)
        return cpu.measured(
            self.process.pid, False, lambda: task("sync", phone, self.proxy.url, 0, env)
        )

    def stop(self) -> None:
        self.proxy.close()
        self.process.terminate()
        self.process.wait(30)


def compare(today: str, versions: dict[str, str], size: int, runs: int, link: str) -> None:
    cwd = os.getcwd()
    seconds: dict[str, list[float]] = {name: [] for name in ["today", *versions]}
    with database("sqlite", "") as db, tempfile.TemporaryDirectory() as tmp:
        seed(db, size, user_id(db, "alice"))
        old_env = {"PYTHONPATH": os.pathsep.join([str(Path(today).resolve()), cwd])}
        old = Side(at_revision_of(db, today, Path(tmp) / "today.db"), old_env, link)
        new = Side(db.url, {}, link)
        try:
            for run in range(runs):
                names = list(versions) if run % 2 == 0 else list(versions)[::-1]
                for name in ["today", *names]:
                    phone = Path(tmp) / f"phone-{name}-{run}"
                    if name == "today":
                        step = old.download(phone, old_env)
                    else:
                        src = str(Path(versions[name]).resolve())
                        env = {"PYTHONPATH": os.pathsep.join([src, cwd])}
                        step = new.download(phone, {**env, "FIELDSYNC_COMPRESSION": "zstd"})
                    assert step["report"]["pulled"] == size, step
                    seconds[name].append(step["seconds"])
                    print(f"{run} {name}: {step['seconds']:.2f} s, CPU {step['cpu']}")
        finally:
            old.stop()
            new.stop()
    print_medians(seconds, next(iter(versions)))


def print_medians(seconds: dict[str, list[float]], first: str) -> None:
    today = statistics.median(seconds["today"])
    print("| version | median s | speed-up over today | median ratio to " + first + " |")
    print("|---|---:|---:|---:|")
    for name, times in seconds.items():
        median = statistics.median(times)
        ratio = statistics.median(t / f for t, f in zip(times, seconds[first], strict=True))
        print(f"| {name} | {median:.2f} | {today / median:.1f} | {ratio:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.slow_link_paired", description=__doc__
    )
    parser.add_argument("today", help="today's src directory (uncompressed, one page at a time)")
    parser.add_argument("versions", nargs="+", help="NAME=SRC, the first the reference")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--link", choices=sorted(LINKS), default="20M")
    args = parser.parse_args()
    versions = dict(v.split("=", 1) for v in args.versions)
    compare(args.today, versions, args.size, args.runs, args.link)


if __name__ == "__main__":
    main()
