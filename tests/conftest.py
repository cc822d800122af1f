"""Shared fixtures: a real fieldsync server over HTTP on a free port, with real SQLite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fieldsync.device import Device
from fieldsync.server import users
from fieldsync.server.background import running
from fieldsync.server.db import Database


@dataclass
class Server:
    """A running server, its database and helpers to act as the back office."""

    url: str
    db: Database
    tmp: Path

    def add_user(self, name: str, password: str = "secret", *, admin: bool = False) -> str:
        with self.db.write() as conn:
            return users.add(conn, name, password, admin=admin)

    def client(self, name: str, password: str = "secret") -> httpx.Client:
        token = httpx.post(
            f"{self.url}/v1/auth/login", json={"username": name, "password": password}
        ).json()["token"]
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"})

    def device(self, name: str, user: str, password: str = "secret") -> Device:
        return Device.login(self.tmp / name, self.url, user, password)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the demo project and users alice, bob (field) and admin.

    Made once and copied for every test: hashing passwords with Argon2 is slow on purpose.
    """
    path = tmp_path_factory.mktemp("template") / "server.db"
    db = Database(str(path))
    db.create()
    with db.write() as conn:
        for name in ("alice", "bob"):
            users.add(conn, name, "secret")
        users.add(conn, "admin", "secret", admin=True)
    db.dispose()
    return path


@pytest.fixture
def server(tmp_path: Path, template_db: Path) -> Iterator[Server]:
    """A running server on a copy of the template database."""
    path = tmp_path / "server.db"
    shutil.copy(template_db, path)
    db = Database(str(path))
    with running(db) as url:
        yield Server(url, db, tmp_path)
    db.dispose()


@pytest.fixture
def crm(server: Server) -> Iterator[httpx.Client]:
    """The back office: an HTTP client logged in as the admin."""
    with server.client("admin") as client:
        yield client
