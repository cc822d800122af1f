"""Fixtures of the fault suite: a server in its own process behind a fault proxy."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import BACKENDS, pg_database
from faults.proxy import FaultProxy
from fieldsync.device import Device
from fieldsync.failpoints import VARIABLE
from fieldsync.server.background import spawn
from fieldsync.server.db import Database
from fieldsync.server.settings import variable


class Served:
    """`fieldsync serve` in a child process that tests may kill and restart."""

    def __init__(self, db: Database, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.db, self.tmp, self.env = db, tmp, env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.proxy: FaultProxy | None = None
        self.failpoint: str | None = None

    def start(self, failpoint: str | None = None) -> None:
        """Start the server (dying at `failpoint`, if given) behind the proxy."""
        env = {**self.env, **({VARIABLE: failpoint} if failpoint else {})}
        process, url = spawn(self.db.url, env=env or None)
        self.process, self.failpoint = process, failpoint
        port = int(url.rsplit(":", 1)[1])
        if self.proxy is None:
            self.proxy = FaultProxy(port)
        self.proxy.upstream_port = port

    @property
    def url(self) -> str:
        """Where devices connect: the proxy."""
        assert self.proxy is not None
        return self.proxy.url

    def died(self, timeout: float = 20) -> int:
        """Wait for the server to die at its failpoint; its exit status."""
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        """Kill the server (if it still runs)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def office(self) -> httpx.Client:
        """The back office, straight to the server (no faults)."""
        login = {"username": "admin", "password": "secret"}
        token = httpx.post(f"{self.url}/v1/auth/login", json=login).json()["token"]
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"})

    def device(self, name: str) -> Device:
        """A device of alice's, logged in through the proxy."""
        return Device.login(self.tmp / name, self.url, "alice", "secret")

    def close(self) -> None:
        """Kill the server and close the proxy."""
        self.stop()
        if self.proxy is not None:
            self.proxy.close()


@pytest.fixture
def served(backend_db: Database, tmp_path: Path) -> Iterator[Served]:
    """A seeded server in a child process, behind a fault proxy."""
    server = Served(backend_db, tmp_path)
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module", params=BACKENDS)
def module_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A seeded database of one backend, shared by the tests of a module."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module_db") / "server.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(str(path))
        yield db
        db.dispose()
        return
    admin, template = request.getfixturevalue("pg_admin"), request.getfixturevalue("pg_template")
    with pg_database(admin, template) as url:
        db = Database(url)
        yield db
        db.dispose()


@pytest.fixture(scope="module")
def module_served(
    module_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One server for the tests of a module (each logs in devices of its own)."""
    limits = {variable("devices_per_user"): "1000"}
    server = Served(module_db, tmp_path_factory.mktemp("served"), env=limits)
    server.start()
    yield server
    server.close()


@pytest.fixture
def shared_served(module_served: Served, tmp_path: Path) -> Iterator[Served]:
    """The module's server for one test, its devices in the test's directory. After the
    test no fault is armed nor answer held, and the server runs with no failpoint."""
    module_served.tmp = tmp_path
    yield module_served
    assert module_served.proxy is not None
    assert module_served.process is not None
    module_served.proxy.reset()
    if module_served.failpoint is not None or module_served.process.poll() is not None:
        module_served.stop()
        module_served.start()


# `python -m fieldsync` with the device's pull pages of `sys.argv[1]` records.
SMALL_PAGES = (
    "import sys; from fieldsync.device import pull; "
    "pull.PAGE_SIZE = pull.COMPRESSED_PAGE_SIZE = int(sys.argv.pop(1)); "
    "from fieldsync.cli.main import app; app()"
)


def device_sync_process(
    directory: Path, failpoint: str | None = None, page_size: int | None = None
) -> subprocess.Popen[bytes]:
    """`fieldsync device sync` in a child process (dying at `failpoint`, if given; pulling
    pages of `page_size` records, if given)."""
    env = {**os.environ, **({VARIABLE: failpoint} if failpoint else {})}
    fieldsync = ["-m", "fieldsync"] if page_size is None else ["-c", SMALL_PAGES, str(page_size)]
    command = [sys.executable, *fieldsync, "device", "sync", "--dir", str(directory)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
