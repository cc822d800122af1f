"""Shared fixtures: a real fieldsync server over HTTP on a free port.

Every test that uses `server` runs once per backend: SQLite, and PostgreSQL at
`FIELDSYNC_TEST_PG` (default: the local `test` database); tests of what lies above
storage run on the first backend only (`helpers.one_backend`). PostgreSQL is never
skipped: when it cannot be reached the tests fail and say so. Set
`FIELDSYNC_TEST_BACKENDS=sqlite` to run without it on a machine that has none.

Each test's database is its own: a copy of a seeded template (a file on SQLite; on
PostgreSQL a database made from a template database by a pool, ahead of the tests that
take them, and dropped behind them: see pg_pool.py).

Password hashes made by the tests (and by the servers they start) are cheap:
`FIELDSYNC_TEST_CHEAP_HASHES` is set here, for this process and its children.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, sync_playwright

from fieldsync.device import Device
from fieldsync.server import password_hashes, users
from fieldsync.server.background import running, spawn
from fieldsync.server.db import Database, database_url
from pg_pool import DatabasePool, create_database, drop_database

os.environ[password_hashes.CHEAP_FOR_TESTS] = "1"

# The field app's browser fixtures (phone, tablet, restartable…), for every test module.
pytest_plugins = ["app_fixtures"]

BACKENDS = os.environ.get("FIELDSYNC_TEST_BACKENDS", "sqlite,postgresql").split(",")
PG_ADMIN_URL = os.environ.get("FIELDSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_TEMPLATE = f"fieldsync_test_template_{uuid.uuid4().hex[:8]}"  # one per test run


@dataclass
class Server:
    """A running server, its database and helpers to act as the back office."""

    url: str
    db: Database
    tmp: Path

    def client(self, name: str, password: str = "secret") -> httpx.Client:
        """An HTTP client logged in as `name`."""
        # Over plain HTTP, no TLS context: httpx would load every CA for each client.
        tls = self.url.startswith("https:")
        login = {"username": name, "password": password}
        token = httpx.post(f"{self.url}/v1/auth/login", json=login, verify=tls).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, verify=tls)

    def device(self, name: str, user: str, password: str = "secret") -> Device:
        return Device.login(self.tmp / name, self.url, user, password)


def seed(db: Database) -> None:
    """The demo project and users alice, bob (field workers) and admin, all with `secret`."""
    db.prepare()
    with db.write() as conn:
        for name in ("alice", "bob"):
            users.add(conn, name, "secret")
        users.add(conn, "admin", "secret", admin=True)


def pg_url(database: str) -> str:
    """The URL of another database on the test PostgreSQL server."""
    return str(sa.make_url(database_url(PG_ADMIN_URL)).set(database=database))


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    """A connection to the test PostgreSQL server that may create databases."""
    engine = sa.create_engine(database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as failure:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({failure.orig}); start it, point "
            "FIELDSYNC_TEST_PG at one, or set FIELDSYNC_TEST_BACKENDS=sqlite",
            pytrace=False,
        )
    yield engine
    while POOLS:
        POOLS.popitem()[1].close()
    engine.dispose()


# The pools of fresh databases of this process (see pg_pool), by template: the session's
# seeded template, and None for empty databases.
POOLS: dict[str | None, DatabasePool] = {}


def fresh_pg_database(pg_admin: sa.Engine, template: str | None = None) -> str:
    """A database no test has used, empty or made from `template`; returns its name.
    From a pool when there is one for `template`."""
    if template is None and None not in POOLS:
        POOLS[None] = DatabasePool(pg_admin)
    if template in POOLS:
        return POOLS[template].take()
    return create_database(pg_admin, template)


def drop_pg_database(pg_admin: sa.Engine, name: str) -> None:
    """Drop a database fresh_pg_database made: in the background when a pool made it."""
    for pool in POOLS.values():
        if pool.handed_out(name):
            pool.give_back(name)
            return
    drop_database(pg_admin, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite file, made once and copied for every test."""
    path = tmp_path_factory.mktemp("template") / "server.db"
    db = Database(str(path))
    seed(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(request: pytest.FixtureRequest) -> Iterator[str]:
    """A seeded PostgreSQL database that each test's database is made from."""
    admin: sa.Engine = request.getfixturevalue("pg_admin")
    drop_database(admin, PG_TEMPLATE)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{PG_TEMPLATE}"')
    db = Database(pg_url(PG_TEMPLATE))
    seed(db)
    db.dispose()
    POOLS[PG_TEMPLATE] = DatabasePool(admin, PG_TEMPLATE)
    yield PG_TEMPLATE
    POOLS.pop(PG_TEMPLATE).close()
    drop_database(admin, PG_TEMPLATE)


@contextmanager
def pg_database(pg_admin: sa.Engine, template: str) -> Iterator[str]:
    """A fresh PostgreSQL database made from `template`, dropped after; yields its URL."""
    name = fresh_pg_database(pg_admin, template)
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(pg_admin, name)


@contextmanager
def serving_processes(db_url: str, *options: tuple[str, ...]) -> Iterator[list[str]]:
    """`fieldsync serve` processes on the database at `db_url`, one for each tuple of
    `options`; yields their URLs."""
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for given in options:  # one by one: those started stop even if a later one fails
            started.append(spawn(db_url, *given))
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            stopped(process)


def stopped(process: subprocess.Popen[bytes]) -> None:
    """Wait for a process told to stop; kill it if it takes longer than 10 s (a loaded
    machine), so that no server outlives its test."""
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def processes(pg_admin: sa.Engine, template: str, *options: tuple[str, ...]) -> Iterator[list[str]]:
    """`fieldsync serve` processes on one fresh PostgreSQL database, one for each tuple of
    `options`; yields their URLs."""
    with pg_database(pg_admin, template) as db_url, serving_processes(db_url, *options) as urls:
        yield urls


@pytest.fixture
def two_processes(pg_admin: sa.Engine, pg_template: str) -> Iterator[list[str]]:
    """Two `fieldsync serve` processes on one fresh PostgreSQL database."""
    with processes(pg_admin, pg_template, (), ()) as urls:
        yield urls


@pytest.fixture(params=BACKENDS)
def backend_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A seeded database of one backend, fresh for this test."""
    if request.param == "sqlite":
        path = tmp_path / "server.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(str(path))
        yield db
        db.dispose()
        return
    admin: sa.Engine = request.getfixturevalue("pg_admin")
    name = fresh_pg_database(admin, request.getfixturevalue("pg_template"))
    db = Database(pg_url(name))
    yield db
    db.dispose()
    drop_pg_database(admin, name)


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of one backend: no tables at all."""
    if request.param == "sqlite":
        db = Database(str(tmp_path / "empty.db"))
        yield db
        db.dispose()
        return
    admin: sa.Engine = request.getfixturevalue("pg_admin")
    name = fresh_pg_database(admin)
    db = Database(pg_url(name))
    yield db
    db.dispose()
    drop_pg_database(admin, name)


@pytest.fixture
def server(tmp_path: Path, backend_db: Database) -> Iterator[Server]:
    """A running server over a fresh seeded database."""
    with running(backend_db) as url:
        yield Server(url, backend_db, tmp_path)


@pytest.fixture
def crm(server: Server) -> Iterator[httpx.Client]:
    """The back office: an HTTP client logged in as the admin."""
    with server.client("admin") as client:
        yield client


CHROMIUM = os.environ.get("FIELDSYNC_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine has no internet: no calls home
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not at {CHROMIUM}: install Debian's chromium (.ci/run does) or set "
            "FIELDSYNC_TEST_CHROMIUM",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab at laptop size (1280 by 800), with its own cookies."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()
