"""What the screenshot tools share: where images go, a seeded server, the office, Chromium."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Browser, Playwright

from fieldsync.server import users
from fieldsync.server.db import Database

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def seed(db: Database, *field_workers: str) -> None:
    """A new database with an admin and the given field workers, all with `secret`."""
    db.prepare()
    with db.write() as conn:
        users.add(conn, "admin", "secret", admin=True)
        for name in field_workers:
            users.add(conn, name, "secret")


def office(url: str) -> httpx.Client:
    """The back office, logged in as the admin."""
    login = {"username": "admin", "password": "secret"}
    token = httpx.post(f"{url}/v1/auth/login", json=login).json()["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
