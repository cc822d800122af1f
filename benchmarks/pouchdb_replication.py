"""PouchDB replication over a shaped link: the anchor of `benchmarks.slow_link`.

A PouchDB server (`express-pouchdb`, LevelDB on disk) holds the same accounts as the
fieldsync server, each under its record's id; a PouchDB device (LevelDB on disk, as
the fieldsync device stores to SQLite on disk) replicates it through the link. Both
are Node processes of `benchmarks/pouchdb/replicate.js`; its packages install with
`npm ci --prefix benchmarks/pouchdb`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from benchmarks import cpu
from benchmarks.shaping import Link, ShapedProxy
from fieldsync.server.db import Database
from fieldsync.server.schema import records

SCRIPT = Path(__file__).parent / "pouchdb" / "replicate.js"


def available() -> bool:
    """Whether Node and the script's packages are installed."""
    return shutil.which("node") is not None and (SCRIPT.parent / "node_modules").is_dir()


@contextmanager
def served(db: Database, directory: Path, link: Link) -> Iterator[tuple[int, ShapedProxy]]:
    """A PouchDB server holding `db`'s accounts, behind a shaped link: its pid and proxy."""
    directory.mkdir(parents=True)
    exported = directory / "records.ndjson"
    export(db, exported)
    server = subprocess.Popen(
        ["node", str(SCRIPT), "serve", str(directory / "server"), str(exported)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = json.loads(server.stdout.readline())["port"]
        proxy = ShapedProxy(port, link)
        try:
            yield server.pid, proxy
        finally:
            proxy.close()
    finally:
        server.terminate()
        server.wait(30)


def export(db: Database, path: Path) -> None:
    """Every account of `db` as one `{"id", "record"}` JSON a line."""
    query = sa.select(records.c.id, records.c.data).where(records.c.entity == "account")
    with db.engine.connect() as conn, path.open("wb") as out:
        for record_id, data in conn.execute(query):
            out.write(orjson.dumps({"id": record_id, "record": data}) + b"\n")


def pull(server_pid: int, directory: Path, proxy: ShapedProxy, batch: int) -> dict[str, Any]:
    """A PouchDB device's first replication through `proxy`, with each process's CPU."""

    def run() -> dict[str, Any]:
        done = subprocess.run(
            ["node", str(SCRIPT), "pull", str(directory), f"{proxy.url}/accounts", str(batch)],
            capture_output=True,
            text=True,
            check=True,
        )
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer

    return cpu.measured(server_pid, False, run)
