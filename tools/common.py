"""What the screenshot tools share: where images go, a seeded server, the office, Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Playwright

from fieldsync.server import users
from fieldsync.server.db import Database

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
# The customer the app's screenshots and screen tests are made of.
FARM = {
    "name": "Bratislava Farm Supply",
    "phone": "+421 2 555 0101",
    "email": "info@farm.example",
    "street": "Hlavna 1",
    "city": "Bratislava",
    "zip": "81101",
    "revenue": 2860000.0,
    "employees": 42,
    "industry": "Agriculture",
    "active": True,
}
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


def create(crm: httpx.Client, entity: str, **values: Any) -> str:
    """A record made by the back office; its id."""
    answer = crm.post(f"/v1/entities/{entity}/records", json=values)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])
