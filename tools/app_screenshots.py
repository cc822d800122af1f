"""Screenshots of the device app at 390x844 (a phone), for docs/device-app.md.

Run: `.venv/bin/python -m tools.app_screenshots` (needs Debian's chromium).
Seeds a temporary server with accounts, contacts and a few conflicts first; the
"sync in progress" shot is taken during a real initial download of 30k accounts.
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from fieldsync.device import Device
from fieldsync.device.app import create_app
from fieldsync.device.app.syncer import SETTINGS_KEY, AutoSync
from fieldsync.server.background import running, serving
from fieldsync.server.db import Database
from tools.common import OUT, chromium, office, seed

NAMES = ["Bratislava Farm Supply", "Vienna Tractors", "Brno Seeds", "Graz Orchards", "Linz Mills"]
BULK = 30_000


def bulk_accounts(crm: httpx.Client) -> None:
    """Many accounts, pushed by a back-office 'device' in batches, so a download takes a while."""
    for start in range(0, BULK, 5000):
        changes = [
            {
                "change_id": f"c{n}",
                "entity": "account",
                "id": str(uuid.uuid4()),
                "op": "create",
                "fields": {"name": f"Customer {n:05d}", "city": "Trnava", "employees": n % 90},
            }
            for n in range(start, start + 5000)
        ]
        body = {"device_id": "importer", "batch_id": str(uuid.uuid4()), "changes": changes}
        crm.post("/v1/sync/push", json=body).raise_for_status()


def prepare_phone(url: str, tmp: Path) -> Path:
    """A phone with a few accounts, one conflict of each kind and a refused change."""
    crm = office(url)
    crm.put("/v1/admin/entities/account", json={"on_conflict": "user_action"})
    phone = Device.login(tmp / "phone", url, "alice", "secret")
    ids = [
        phone.create("account", {"name": n, "city": n.split()[0], "phone": "+421 2 555 0100"})
        for n in NAMES
    ]
    phone.create("contact", {"firstname": "Jana", "lastname": "Novak", "account": ids[0]})
    phone.sync()
    phone.update("account", ids[0], {"phone": "+421 905 111 222", "email": "info@bfs.example"})
    crm.patch(
        f"/v1/entities/account/records/{ids[0]}",
        json={"phone": "+421 2 777 333", "city": "Bratislava West"},
    )
    phone.delete("account", ids[1])
    crm.patch(f"/v1/entities/account/records/{ids[1]}", json={"city": "Wien"})
    phone.update("account", ids[2], {"phone": "+421 5 4321 0000 ext. 12"})
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    shorter = [f | {"max_length": 16} if f["name"] == "phone" else f for f in fields]
    crm.put("/v1/admin/entities/account", json={"fields": shorter})
    phone.sync()
    phone.update("account", ids[3], {"employees": 48})
    manual = AutoSync(on_start=False, after_change=False, interval=0)
    with phone.store.transaction() as conn:
        phone.store.set_meta(conn, SETTINGS_KEY, asdict(manual))
    phone.close()
    return tmp / "phone"


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUT / f"app-{name}.png"))
    print(f"docs/images/app-{name}.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(str(Path(tmp) / "server.db"))
        seed(db, "alice")
        with running(db) as url, sync_playwright() as playwright:
            directory = prepare_phone(url, Path(tmp))
            browser = chromium(playwright)
            page = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True)
            with serving(create_app(directory)) as app:
                page.goto(app)
                shoot(page, "home")
                page.get_by_role("link", name="Account").click()
                shoot(page, "list")
                page.get_by_role("link", name="Graz Orchards").click()
                shoot(page, "form")
                page.goto(f"{app}/errors")
                shoot(page, "sync-errors")
                page.get_by_role("link", name="Account: Bratislava Farm Supply").click()
                shoot(page, "conflict")
                page.goto(f"{app}/errors")
                page.get_by_role("link", name="Account: Vienna Tractors").click()
                shoot(page, "delete-conflict")
                page.goto(f"{app}/e/account")
                page.get_by_role("link", name="Brno Seeds").click()
                shoot(page, "rejected")
                bulk_accounts(office(url))
                page.goto(app)
                page.get_by_role("button", name="Sync").click()
                detail = page.locator("#sync-detail")
                while not re.search(r"[1-9]\d* received", detail.inner_text()):
                    time.sleep(0.05)
                shoot(page, "syncing")
            browser.close()


if __name__ == "__main__":
    main()
