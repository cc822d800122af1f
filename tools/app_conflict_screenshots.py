"""Screenshots of the field app's Sync errors and conflict screens, for docs/sync-errors.md.

Run: `.venv/bin/python -m tools.app_conflict_screenshots` (needs Debian's chromium).
A temporary server; a phone (390x844) signs in as alice and meets one conflict of each
kind, a refused change and a notice; each screen is shot as the worker sees it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect, sync_playwright

from fieldsync.server.background import running
from fieldsync.server.db import Database
from tools.common import OUT, chromium, office, seed

SYNC_NOW = """async () => {
  const { activeEngine } = await import("/app/js/sync.js");
  const engine = activeEngine();
  while (engine.status().running) await engine.sync();
  return engine.sync();
}"""
EDIT = """async ([name, args]) => {
  const { activeEngine } = await import("/app/js/sync.js");
  const edits = await import("/app/js/edits.js");
  return edits[name](activeEngine().store, ...args);
}"""


def sync(page: Page) -> None:
    page.evaluate(SYNC_NOW)


def edit(page: Page, name: str, *args: Any) -> None:
    page.evaluate(EDIT, [name, list(args)])


def account(crm: httpx.Client, **values: Any) -> str:
    return str(crm.post("/v1/entities/account/records", json=values).json()["id"])


def log_in(page: Page, url: str) -> None:
    page.goto(f"{url}/app/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password", exact=True).fill("secret")
    page.get_by_label("Password", exact=True).press("Enter")
    expect(page.get_by_role("link", name="Sync errors")).to_be_visible()


def meet_sync_errors(page: Page, crm: httpx.Client) -> None:
    """Two edit/edit conflicts, one of each delete kind, a refused change, a notice."""
    crm.put("/v1/admin/entities/account", json={"on_conflict": "user_action"})
    farm = account(crm, name="Bratislava Farm Supply", city="Bratislava", phone="+421 2 555 0100")
    mills = account(crm, name="Linz Mills", city="Linz", employees=40)
    tractors = account(crm, name="Vienna Tractors", city="Wien")
    seeds = account(crm, name="Brno Seeds", city="Brno")
    orchards = account(crm, name="Graz Orchards", city="Graz", phone="+43 316 1234")
    sync(page)
    edit(
        page,
        "updateRecord",
        "account",
        farm,
        {"phone": "+421 905 111 222", "email": "info@bfs.example"},
    )
    edit(page, "updateRecord", "account", mills, {"employees": 48})
    edit(page, "updateRecord", "account", tractors, {"city": "Wien-Donaustadt"})
    edit(page, "deleteRecord", "account", seeds)
    edit(page, "updateRecord", "account", orchards, {"phone": "+43 316 1234 5678 ext. 90"})
    crm.patch(
        f"/v1/entities/account/records/{farm}",
        json={"phone": "+421 2 777 333", "city": "Bratislava West"},
    )
    crm.patch(f"/v1/entities/account/records/{mills}", json={"employees": 52})
    crm.delete(f"/v1/entities/account/records/{tractors}")
    crm.patch(f"/v1/entities/account/records/{seeds}", json={"city": "Brno-Sever"})
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    shorter = [f | {"max_length": 20} if f["name"] == "phone" else f for f in fields]
    crm.put("/v1/admin/entities/account", json={"fields": shorter})
    sync(page)
    notice_after_server_wins(page, crm)


def notice_after_server_wins(page: Page, crm: httpx.Client) -> None:
    """A contact under Server Wins: the office's phone number replaces the one typed."""
    contact = crm.post(
        "/v1/entities/contact/records", json={"firstname": "Jana", "lastname": "Novak"}
    ).json()["id"]
    sync(page)
    edit(page, "updateRecord", "contact", contact, {"phone": "+421 903 000 111"})
    crm.patch(f"/v1/entities/contact/records/{contact}", json={"phone": "+421 2 444 555"})
    sync(page)


def shoot(page: Page, name: str, full: bool = True) -> None:
    page.screenshot(path=str(OUT / f"field-app-{name}.png"), full_page=full)
    print(f"docs/images/field-app-{name}.png")


def shoot_screens(page: Page) -> None:
    page.evaluate("location.hash = '#/errors'")
    expect(page.get_by_role("heading", name="Sync errors", level=1)).to_be_visible()
    shoot(page, "sync-errors")
    page.get_by_role("region", name="Recent notices").scroll_into_view_if_needed()
    page.get_by_role("button", name="Keep the office's for all").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    shoot(page, "apply-to-all", full=False)
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    page.get_by_role("link", name="Bratislava Farm Supply").click()
    shoot(page, "conflict")
    page.get_by_role("button", name="Merge").click()
    page.get_by_role("region", name="Merge: choose per field").scroll_into_view_if_needed()
    shoot(page, "merge", full=False)
    page.evaluate("location.hash = '#/errors'")
    page.get_by_role("link", name="Vienna Tractors").click()
    shoot(page, "edit-delete-conflict")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(str(Path(tmp) / "server.db"))
        seed(db, "alice")
        with running(db) as url, sync_playwright() as playwright:
            browser = chromium(playwright)
            context = browser.new_context(
                base_url=url, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
            )
            page = context.new_page()
            log_in(page, url)
            meet_sync_errors(page, office(url))
            shoot_screens(page)
            browser.close()


if __name__ == "__main__":
    main()
