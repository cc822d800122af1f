"""Screenshots of the field app (served at /app/) on a phone and a tablet, for docs/field-app.md.

Run: `.venv/bin/python -m tools.app_screenshots` (needs Debian's chromium). Starts a
throwaway server with a customer, its contacts and appointments and a few thousand more
accounts; each device logs in (the first download is held after its first page for the
"syncing" shot), meets a conflict and a refused change, and every screen is saved as
docs/images/app-<screen>-<phone|tablet>.png.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
from benchmarks.data import seed as seed_accounts
from benchmarks.data import user_id
from playwright.sync_api import Browser, Page, Route, ViewportSize, sync_playwright

from fieldsync.server.background import running
from fieldsync.server.db import Database
from tools.common import FARM, OUT, chromium, create, office, seed

DEVICES: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844},
    "tablet": {"width": 1024, "height": 768},
}
MORE_ACCOUNTS = 3000
OFFICE_CITY = {"phone": "Zilina", "tablet": "Trnava"}  # a new office edit for each device


def customers(crm: httpx.Client) -> dict[str, str]:
    """The farm with its contacts and appointments, and two other accounts."""
    farm = create(crm, "account", **FARM)
    vienna = create(crm, "account", name="Vienna Tractors", city="Vienna", phone="+43 1 555 0199")
    create(crm, "account", name="Brno Seeds", city="Brno")
    create(crm, "contact", firstname="Jana", lastname="Novak", jobtitle="Buyer", account=farm)
    create(crm, "contact", firstname="Peter", lastname="Kral", jobtitle="Owner", account=farm)
    create(crm, "appointment", subject="Seed order", start="2098-01-07T13:00:00Z", regarding=farm)
    create(
        crm,
        "appointment",
        subject="Harvest plan",
        start="2099-03-01T09:00:00Z",
        location="Farm office",
        regarding=farm,
    )
    create(crm, "appointment", subject="First visit", start="2020-05-04T08:00:00Z", regarding=farm)
    crm.put("/v1/admin/entities/account", json={"on_conflict": "user_action"}).raise_for_status()
    return {"farm": farm, "vienna": vienna}


def shoot(page: Page, name: str, device: str) -> None:
    page.wait_for_timeout(300)  # let the last redraw of the store's changes land
    page.screenshot(path=str(OUT / f"app-{name}-{device}.png"))
    print(f"app-{name}-{device}.png")


def log_in(page: Page, device: str) -> None:
    """The login screen, then the first download held after its first page."""
    held: list[Route] = []
    state = {"pulls": 0, "release": False}

    def hold(route: Route) -> None:
        state["pulls"] += 1
        if state["release"] or state["pulls"] == 1:
            route.continue_()
        else:
            held.append(route)

    page.route("**/v1/sync/pull*", hold)
    page.goto("/app/")
    page.get_by_label("Username").fill("alice")
    shoot(page, "login", device)
    page.get_by_label("Password", exact=True).fill("secret")
    page.get_by_role("button", name="Log in").click()
    page.locator("#sync-text").filter(has_text="records").wait_for()
    shoot(page, "syncing", device)
    state["release"] = True
    for route in held:
        route.continue_()
    page.locator("#sync-text").filter(has_text="Synced").wait_for()


def edit(page: Page, entity: str, record_id: str, **values: str) -> None:
    page.goto(f"/app/#/edit/{entity}/{record_id}")
    for label, value in values.items():
        page.get_by_label(label.capitalize(), exact=True).fill(value)
    page.get_by_role("button", name="Save").click()
    page.locator(".detail-pane").get_by_role("link", name="Edit").wait_for()


def sync(page: Page) -> None:
    page.evaluate("import('/app/js/sync.js').then((m) => m.activeEngine().sync())")


def tour(browser: Browser, url: str, crm: httpx.Client, ids: dict[str, str], device: str) -> None:
    """Every screen of one device, with a conflict and a refused change on it."""
    context = browser.new_context(base_url=url, viewport=DEVICES[device], service_workers="allow")
    page = context.new_page()
    log_in(page, device)
    screens: list[tuple[str, str, Callable[[], None] | None]] = [
        ("home", "/app/#/", None),
        ("list", "/app/#/list/appointment", None),
        ("record", f"/app/#/record/account/{ids['farm']}", None),
        (
            "form",
            "/app/#/new/appointment",
            lambda: page.get_by_label("Find account by name").fill("bra"),
        ),
    ]
    for name, target, then in screens:
        page.goto(target)
        page.locator("#screen h1:visible").first.wait_for()
        if then:
            then()
            page.wait_for_timeout(300)
        shoot(page, name, device)
    page.goto("/app/#/new/account")
    page.get_by_label("Employees").fill("twelve")
    page.get_by_role("button", name="Save").click()
    page.locator(".field-error:visible").first.wait_for()
    shoot(page, "form-errors", device)

    # The office moves first; the phone has not synced since, so it edits an old version
    # and still takes a country of any length.
    crm.patch(f"/v1/entities/account/records/{ids['farm']}", json={"city": OFFICE_CITY[device]})
    country_length(crm, 2)
    edit(page, "account", ids["farm"], city="Kosice")
    edit(page, "account", ids["vienna"], country="Austria")
    sync(page)
    page.goto("/app/#/list/account")
    page.locator("#sync-text").filter(has_text="need").wait_for()
    shoot(page, "markers", device)
    page.goto("/app/#/errors")
    page.locator("#screen h1:visible").first.wait_for()
    shoot(page, "errors", device)
    conflict = page.evaluate(
        "import('/app/js/sync.js')"
        ".then(async (m) => (await m.activeEngine().store.openConflicts())[0].id)"
    )
    page.goto(f"/app/#/conflict/{conflict}")
    page.locator("#screen h1:visible").first.wait_for()
    shoot(page, "conflict", device)
    page.goto("/app/#/settings")
    page.locator("#screen h1:visible").first.wait_for()
    shoot(page, "settings", device)
    context.close()
    country_length(crm, 80)


def country_length(crm: httpx.Client, length: int) -> None:
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    changed = [{**f, "max_length": length} if f["name"] == "country" else f for f in fields]
    answer = crm.put(
        "/v1/admin/entities/account", params={"confirm": "true"}, json={"fields": changed}
    )
    answer.raise_for_status()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fieldsync-app-shots-") as tmp:
        db = Database(str(Path(tmp) / "server.db"))
        seed(db, "alice")
        seed_accounts(db, MORE_ACCOUNTS, user_id(db, "alice"))
        with running(db) as url, office(url) as crm:
            ids = customers(crm)
            with sync_playwright() as playwright:
                browser = chromium(playwright)
                for device in DEVICES:
                    tour(browser, url, crm, ids, device)
                browser.close()
        db.dispose()


if __name__ == "__main__":
    main()
