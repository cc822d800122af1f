"""Shared fixtures: a real fieldsync server over HTTP on a free port, with real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db = Database(str(tmp_path / "server.db"))
    db.create()
    with running(db) as url:
        yield Server(url, db, tmp_path)
    db.dispose()


@pytest.fixture
def crm(server: Server) -> Iterator[Any]:
    """The server with users alice (field), bob (field) and admin, and an admin HTTP client."""
    server.add_user("alice")
    server.add_user("bob")
    server.add_user("admin", admin=True)
    with server.client("admin") as client:
        yield client
