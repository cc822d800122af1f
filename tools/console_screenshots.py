"""Screenshots of every console page at 1280x800, for docs/admin.md.

Run: `.venv/bin/python -m tools.console_screenshots` (needs Debian's chromium).
Seeds a temporary server with a few devices, records and conflicts first.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from fieldsync.device import Device
from fieldsync.server.background import running
from fieldsync.server.db import Database
from tools.common import OUT, chromium, office, seed

CITIES = ["Bratislava", "Vienna", "Brno", "Graz", "Linz", "Košice", "Prague", "Budapest"]


def make_conflicts(url: str, tmp: Path) -> None:
    crm = office(url)
    alice = Device.login(tmp / "alice", url, "alice", "secret")
    bob = Device.login(tmp / "bob", url, "bob", "secret")
    ids = [
        alice.create(
            "account",
            {
                "name": f"{city} Farm Supply",
                "city": city,
                "phone": f"+421 2 555 01{i:02d}",
                "industry": "Agriculture",
                "employees": 10 + i,
            },
        )
        for i, city in enumerate(CITIES)
    ]
    alice.sync()
    bob.sync()
    policies = ["partial_device_wins", "server_wins", "full_device_wins", "user_action"]
    for n, policy in enumerate(policies):
        crm.put("/v1/admin/entities/account", json={"on_conflict": policy})
        record_id = ids[n]
        alice.update("account", record_id, {"phone": f"+421 905 000 {n}0{n}", "employees": 40 + n})
        crm.patch(
            f"/v1/entities/account/records/{record_id}",
            json={"phone": f"+421 2 777 {n}{n}{n}", "city": f"{CITIES[n]} West"},
        )
        alice.sync()
    bob.update("account", ids[5], {"description": "Visited on Monday; wants a quote."})
    crm.patch(f"/v1/entities/account/records/{ids[5]}", json={"description": "Key account."})
    bob.sync()
    bob.sync()
    crm.put("/v1/admin/entities/account", json={"on_conflict": "partial_device_wins"})


def shoot(page: Page, url: str, path: str, name: str) -> None:
    page.goto(f"{url}{path}")
    page.screenshot(path=str(OUT / f"console-{name}.png"))
    print(f"docs/images/console-{name}.png  {path}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(str(Path(tmp) / "server.db"))
        seed(db, "alice", "bob", "carol")
        with running(db) as url, sync_playwright() as playwright:
            make_conflicts(url, Path(tmp))
            crm = office(url)
            journal = crm.get("/v1/admin/conflicts").json()["conflicts"]
            open_one = next(e for e in journal if e["status"] == "open")
            merged = next(e for e in journal if e["outcome"] == "merged")
            record = crm.get("/v1/entities/account/records").json()["records"][0]
            device_id = journal[0]["device_id"]
            browser = chromium(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            shoot(page, url, "/admin/login", "login")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill("secret")
            page.get_by_role("button", name="Log in").click()
            shoot(page, url, "/admin", "dashboard")
            shoot(page, url, "/admin/entities", "entities")
            shoot(page, url, "/admin/entities/account", "fields")
            shoot(page, url, "/admin/conflicts", "conflicts")
            shoot(page, url, f"/admin/conflicts/{merged['id']}", "conflict-restore")
            page.goto(f"{url}/admin/conflicts/{open_one['id']}")
            page.get_by_label("Merge field by field").check()
            page.screenshot(path=str(OUT / "console-conflict-open.png"))
            shoot(page, url, "/admin/records/account", "records")
            shoot(page, url, f"/admin/records/account/{record['id']}", "record")
            shoot(page, url, "/admin/users", "users")
            shoot(page, url, "/admin/devices", "devices")
            shoot(page, url, f"/admin/devices/{device_id}", "device")
            browser.close()


if __name__ == "__main__":
    main()
