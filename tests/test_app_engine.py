"""The field app's foundation and pull engine, in Debian's Chromium at phone size.

The app runs as a phone runs it: served by a real server at /app/, its service worker
installed, its data in IndexedDB, its engine (js/sync.js) syncing over HTTP. Network
cuts are real: the server is stopped (and the browser set offline), a captive portal is
a real HTTP server on the same address. These tests run on SQLite only: what they test
is the app; the server's pull and push are tested on both backends elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.data import give, past_and_upcoming, seed, seed_appointments, user_id
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Page, Route, expect

import fieldsync
from app_fixtures import Restartable, app_login, app_sync, engine_call
from conftest import Server
from helpers import set_entity

STORE_CALL = """async ([method, args]) => {
  const { activeEngine } = await import("/app/js/sync.js");
  return activeEngine().store[method](...args);
}"""
EDIT_CALL = """async ([name, args]) => {
  const edits = await import("/app/js/edits.js");
  const { activeEngine } = await import("/app/js/sync.js");
  return edits[name](activeEngine().store, ...args);
}"""
PHONE_RECORDS = """async (entity) => {
  const { activeEngine } = await import("/app/js/sync.js");
  const { stringifyJSON } = await import("/app/js/wire.js");
  const store = activeEngine().store;
  const rows = [];
  let page = await store.listRecords(entity, { limit: 1000 });
  rows.push(...page.rows);
  while (page.more) {
    page = await store.listRecords(entity, { limit: 1000, after: page.next });
    rows.push(...page.rows);
  }
  return stringifyJSON(Object.fromEntries(rows.map((r) => [r.id, r.data])));
}"""


def store_call(page: Page, method: str, *args: Any) -> Any:
    """Call a method of the app's store in the page."""
    return page.evaluate(STORE_CALL, [method, list(args)])


def edit(page: Page, name: str, *args: Any) -> Any:
    """Make a local edit as the app's forms do (edits.js)."""
    return page.evaluate(EDIT_CALL, [name, list(args)])


def phone_records(page: Page, entity: str = "account") -> dict[str, Any]:
    """Every record of `entity` the phone lists, by id."""
    records: dict[str, Any] = json.loads(page.evaluate(PHONE_RECORDS, entity))
    return records


def server_records(server: Server, entity: str = "account") -> dict[str, Any]:
    """Every live record of `entity` on the server, as the back office reads them."""
    found: dict[str, Any] = {}
    with server.client("admin") as admin:
        offset = 0
        while True:
            page = admin.get(
                f"/v1/entities/{entity}/records", params={"limit": 1000, "offset": offset}
            ).json()
            items = page["records"] if isinstance(page, dict) else page
            found.update({r["id"]: r["record"] for r in items if not r["deleted"]})
            if len(items) < 1000:
                return found
            offset += 1000


def seeded(server: Server, count: int) -> list[str]:
    """`count` accounts owned by alice, straight into the server's database."""
    return seed(server.db, count, user_id(server.db, "alice"))


def downloaded(phone: Page, server: Server, count: int) -> list[str]:
    """`count` accounts of alice's on the server, downloaded by `phone` with its service
    worker active; their ids."""
    ids = seeded(server, count)
    app_login(phone, server, "alice")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    app_sync(phone)
    return ids


def test_app_installs_with_a_valid_manifest_and_an_active_service_worker(
    phone: Page, server: Server
) -> None:
    phone.goto("/app/")
    href = phone.locator("link[rel=manifest]").get_attribute("href")
    answer = httpx.get(f"{server.url}/app/{href}")
    manifest = answer.json()
    assert answer.headers["content-type"] == "application/manifest+json"
    theme = phone.locator("meta[name=theme-color]").get_attribute("content")
    assert theme == manifest["theme_color"]
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/app/",
        "/app/",
        "standalone",
    )
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        image = httpx.get(f"{server.url}/app/{icon['src']}")
        assert (image.status_code, image.headers["content-type"]) == (200, "image/png")
    state = phone.evaluate("navigator.serviceWorker.ready.then((r) => r.active && r.active.state)")
    assert state in ("activating", "activated")
    phone.reload()
    assert phone.evaluate("navigator.serviceWorker.controller !== null")


APP_PATHS = [
    "/app",
    "/app/",
    "/app/index.html",
    "/app/sw.js",
    "/app/version.json",
    "/app/manifest.webmanifest",
    "/app/js/main.js",
    "/app/icons/icon-192.png",
]


def test_every_address_of_the_app_answers_head_as_it_answers_get(server: Server) -> None:
    plain = {"Accept-Encoding": "identity"}  # a HEAD is never compressed
    with httpx.Client(base_url=server.url, headers=plain) as http:
        for path in APP_PATHS:
            got, head = http.get(path), http.head(path)
            assert head.status_code == got.status_code, path
            assert head.headers.get("content-type") == got.headers.get("content-type"), path
            assert head.headers.get("content-length") == got.headers.get("content-length"), path
            assert head.content == b"", path


def test_first_download_over_several_pages_holds_exactly_the_servers_records(
    phone: Page, server: Server
) -> None:
    seeded(server, 6000)
    # The app syncs as soon as it opens: its first pull waits until the test listens.
    held: list[Route] = []
    phone.route("**/v1/sync/pull*", lambda route: held.append(route))
    app_login(phone, server, "alice")
    wait_until(phone, lambda: bool(held))
    phone.evaluate(
        """async () => {
          const { activeEngine } = await import("/app/js/sync.js");
          window.seen = [];
          activeEngine().on("progress", (p) => window.seen.push(p.received));
          activeEngine().on("done", (result) => { window.done = result; });
        }"""
    )
    for route in held:
        route.continue_()
    phone.unroute("**/v1/sync/pull*")
    wait_until(phone, lambda: phone.evaluate("window.done !== undefined"))
    progress, done = phone.evaluate("[window.seen, window.done]")
    assert phone_records(phone) == server_records(server)
    assert len(phone_records(phone)) == 6000
    # Several pages, each counted as it was stored.
    assert len([n for n in progress if 0 < n < 6000]) >= 2
    assert (done["ok"], done["received"]) == (True, 6000)


def wait_until(page: Page, condition: Callable[[], bool]) -> None:
    """Wait (in the page's event loop) until `condition()` holds."""
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not get there in time")
        page.wait_for_timeout(50)


def test_app_opens_with_its_data_after_a_reload_with_the_server_stopped_and_offline(
    restartable_phone: Page, restartable: Restartable
) -> None:
    phone, server = restartable_phone, restartable.as_server()
    downloaded(phone, server, 300)
    restartable.stop()
    phone.context.set_offline(True)
    phone.reload()
    opened = phone.evaluate(
        """async () => {
          const sync = await import("/app/js/sync.js");
          const store = await sync.resumeSession();
          return { user: store.username, count: await store.countRecords("account") };
        }"""
    )
    assert opened == {"user": "alice", "count": 300}
    result = app_sync(phone)
    assert (result["ok"], result["error"]) == (False, "offline")
    assert store_call(phone, "countRecords", "account") == 300


def stop_after(server: Restartable, path: str, count: int) -> threading.Thread:
    """Stop `server` (a real cut) as soon as it has been asked `path` `count` times."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while server.requests.get(path, 0) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        server.stop()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_a_download_cut_midway_resumes_after_the_last_stored_page(
    restartable_phone: Page, restartable: Restartable
) -> None:
    phone, server = restartable_phone, restartable.as_server()
    # Another worker's accounts: alice's first screen (the first pull) is empty, and the
    # cut falls among the download's pages.
    seed(server.db, 12_000, user_id(server.db, "bob"))
    watcher = stop_after(restartable, "/v1/sync/pull", 4)
    app_login(phone, server, "alice")  # the app starts the download as it opens
    watcher.join()
    cut = app_sync(phone)  # after the cut download, one more try while the server is down
    stored = store_call(phone, "countRecords", "account")
    assert not cut["ok"]
    assert 0 < stored < 12_000
    assert stored % 2500 == 0  # whole pages only
    # Every sync from now on (the engine's own retries too) says what it received.
    phone.evaluate(
        """async () => {
          const { activeEngine } = await import("/app/js/sync.js");
          window.received = [];
          activeEngine().on("done", (result) => window.received.push(result.received));
        }"""
    )
    restartable.start()
    assert app_sync(phone)["ok"]
    assert sum(phone.evaluate("window.received")) == 12_000 - stored
    assert phone_records(phone) == server_records(server)


def test_a_first_screen_record_edited_during_a_cut_download_stays_on_the_phone(
    restartable_phone: Page, restartable: Restartable
) -> None:
    phone, server = restartable_phone, restartable.as_server()
    accounts = seed(server.db, 12_000, user_id(server.db, "bob"))
    give(server.db, accounts[-10:], user_id(server.db, "alice"))  # the download's last page
    watcher = stop_after(restartable, "/v1/sync/pull", 4)
    app_login(phone, server, "alice")  # the first screen, then the download, cut midway
    watcher.join()
    assert not app_sync(phone)["ok"]
    assert 10 < store_call(phone, "countRecords", "account") < 12_000
    # Offline, alice edits one of her own accounts the first screen brought.
    edit(phone, "updateRecord", "account", accounts[-1], {"city": "Typed offline"})
    restartable.start()
    assert app_sync(phone)["ok"]
    assert server_records(server)[accounts[-1]]["city"] == "Typed offline"
    assert phone_records(phone) == server_records(server)


def test_a_first_download_draws_the_first_screen_before_the_rest(
    phone: Page, server: Server
) -> None:
    bob, alice = user_id(server.db, "bob"), user_id(server.db, "alice")
    accounts = seed(server.db, 3000, bob)
    give(server.db, accounts[::50], alice)  # 60 of alice's own
    appointments = seed_appointments(server.db, past_and_upcoming(100, 4), bob)
    held: list[Route] = []

    def hold_the_download(route: Route) -> None:
        if "first=true" in route.request.url:
            route.continue_()
        else:
            held.append(route)

    phone.route("**/v1/sync/pull*", hold_the_download)
    app_login(phone, server, "alice")  # the app starts the download as it opens
    wait_until(phone, lambda: bool(held))  # the first screen came; the rest waits
    phone.evaluate("location.hash = '#/list/appointment'")
    # The list shows today's and upcoming appointments, soonest first, and nothing else yet.
    cards = phone.locator("a.card")
    expect(cards).to_have_count(4)
    assert set(phone_records(phone, "appointment")) == set(appointments[-4:])
    assert set(phone_records(phone, "account")) == set(accounts[::50])
    # Meanwhile bob's appointments leave alice's scope: the download does not mention them.
    with server.client("admin") as admin:
        set_entity(admin, "appointment", sync_filter="owned")
    for route in held:
        route.continue_()
    phone.unroute("**/v1/sync/pull*")
    assert app_sync(phone)["ok"]
    assert phone_records(phone, "account") == server_records(server, "account")
    assert phone_records(phone, "appointment") == {}
    phone.evaluate("location.hash = '#/list/account'")
    expect(cards).to_have_count(50)  # the first page of the whole list


def test_resync_downloads_everything_again_and_keeps_an_unsynced_edit(
    phone: Page, server: Server
) -> None:
    ids = downloaded(phone, server, 50)
    with server.client("admin") as admin:
        assert admin.delete(f"/v1/entities/account/records/{ids[1]}").status_code == 204
    edit(phone, "updateRecord", "account", ids[0], {"city": "Typed offline"})
    # The server no longer knows the phone's cursor (as after a restored backup): 410.
    epoch = store_call(phone, "getMeta", "cursor").split(".")[0]
    store_call(phone, "setMeta", "cursor", f"{epoch}.999999999")
    result = app_sync(phone)
    assert result["ok"]
    records = phone_records(phone)
    assert records[ids[0]]["city"] == "Typed offline"
    assert ids[1] not in records
    assert set(records) == set(server_records(server))
    assert store_call(phone, "getMeta", "resync") is False


@pytest.mark.parametrize("ended_by", ["token revoked", "admin deleted the device"])
def test_an_ended_session_asks_for_the_password_and_keeps_unsynced_edits(
    phone: Page, server: Server, ended_by: str
) -> None:
    ids = downloaded(phone, server, 20)
    if ended_by == "token revoked":
        token = store_call(phone, "getMeta", "token")
        httpx.post(f"{server.url}/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    else:
        device_id = store_call(phone, "getMeta", "device_id")
        with server.client("admin") as admin:
            assert admin.delete(f"/v1/admin/devices/{device_id}").status_code == 204
    # Made after the session ended, so that no sync the app starts by itself sends it.
    edit(phone, "updateRecord", "account", ids[0], {"city": "Kept"})
    result = app_sync(phone)
    assert (result["ok"], result["error"]) == (False, "auth_needed")
    assert store_call(phone, "getMeta", "auth_needed") is True
    assert store_call(phone, "pendingCount") == 1
    engine_call(phone, "login", server.url, "alice", "secret")
    assert store_call(phone, "getMeta", "auth_needed") is False
    assert phone_records(phone)[ids[0]]["city"] == "Kept"
    assert app_sync(phone)["ok"]
    assert phone_records(phone)[ids[0]]["city"] == "Kept"


def portal() -> FastAPI:
    """A captive portal: every address answers its sign-in page."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    def sign_in(path: str) -> HTMLResponse:
        return HTMLResponse("<html><body><h1>Welcome! Accept the terms</h1></body></html>")

    return app


def test_a_captive_portal_answer_refuses_nothing(
    restartable_phone: Page, restartable: Restartable
) -> None:
    phone, server = restartable_phone, restartable.as_server()
    ids = downloaded(phone, server, 20)
    edit(phone, "updateRecord", "account", ids[0], {"city": "Behind a portal"})
    restartable.stop()
    restartable.start(portal())
    result = app_sync(phone)
    assert (result["ok"], result["error"]) == (False, "offline")
    assert store_call(phone, "refusedRecords") == []
    assert store_call(phone, "pendingCount") == 1
    assert phone_records(phone)[ids[0]]["city"] == "Behind a portal"
    restartable.stop()
    restartable.start()
    assert app_sync(phone)["ok"]


def test_integers_past_2_pow_53_stay_exact_on_the_phone(phone: Page, server: Server) -> None:
    big = 2**62 + 1
    with server.client("admin") as admin:
        created = admin.post(
            "/v1/entities/account/records", json={"name": "Big", "employees": big}
        ).json()
    app_login(phone, server, "alice")
    app_sync(phone)
    stored = phone_records(phone)[created["id"]]
    assert stored["employees"] == big


LIST = """async ([entity, search, limit]) => {
  const { activeEngine } = await import("/app/js/sync.js");
  const store = activeEngine().store;
  const titles = [];
  let page = await store.listRecords(entity, { search, limit });
  titles.push(...page.rows.map((r) => r.title));
  while (page.more) {
    page = await store.listRecords(entity, { search, limit, after: page.next });
    titles.push(...page.rows.map((r) => r.title));
  }
  return titles;
}"""


def listed(page: Page, entity: str, search: str = "", limit: int = 2) -> list[str]:
    """The titles a list shows, page after page of `limit`."""
    titles: list[str] = page.evaluate(LIST, [entity, search, limit])
    return titles


def test_appointments_list_upcoming_first_and_search_finds_across_pages(
    phone: Page, server: Server
) -> None:
    starts = {
        "Last week": "2020-01-01T09:00:00+00:00",
        "Yesterday": "2020-06-01T09:00:00+01:00",
        "Tomorrow": "2999-01-01T09:00:00+00:00",
        "Next month": "2999-02-01T09:00:00+00:00",
        "Undated": None,
    }
    with server.client("admin") as admin:
        for subject, start in starts.items():
            admin.post(
                "/v1/entities/appointment/records", json={"subject": subject, "start": start}
            )
        for name in ("Orchard Farm", "Bakery", "Orchard Hill", "Quarry", "orchard lane"):
            admin.post("/v1/entities/account/records", json={"name": name})
    app_login(phone, server, "alice")
    app_sync(phone)
    assert listed(phone, "appointment") == [
        "Tomorrow",
        "Next month",
        "Undated",
        "Yesterday",
        "Last week",
    ]
    assert listed(phone, "account", "ORCHARD") == ["Orchard Farm", "Orchard Hill", "orchard lane"]
    store_call(phone, "searchEntries", "account")  # the searches after the first one
    assert listed(phone, "account", "orchard") == ["Orchard Farm", "Orchard Hill", "orchard lane"]


def test_a_server_that_cannot_be_reached_is_tried_again_later_and_the_bar_says_offline(
    restartable_phone: Page, restartable: Restartable
) -> None:
    phone, server = restartable_phone, restartable.as_server()
    ids = downloaded(phone, server, 20)
    pushes: list[float] = []
    phone.context.on(
        "request",
        lambda r: pushes.append(time.monotonic()) if "/v1/sync/push" in r.url else None,
    )
    restartable.stop()  # the network is up, the server is gone
    edit(phone, "updateRecord", "account", ids[0], {"city": "Not sent yet"})
    deadline = time.monotonic() + 10
    while not pushes and time.monotonic() < deadline:
        phone.wait_for_timeout(100)
    assert pushes, "the edit was never pushed"
    phone.wait_for_timeout(6_000)
    # The first try, then after about 2 s and 4 s: not a try every few milliseconds.
    assert len(pushes) <= 4
    expect(phone.locator("#sync-text")).to_contain_text("Offline")
    expect(phone.locator("#sync-text")).to_contain_text("1 change not sent yet")


BAR_LINES = """() => {
  window.barLines = [];
  new MutationObserver(() => {
    const text = document.getElementById("sync-text");
    const detail = text?.querySelector(".detail")?.textContent ?? "";
    const line = (text?.textContent ?? "").slice(0, -detail.length || undefined);
    const last = window.barLines.at(-1);
    const same = last && last[0] === line && last[1] === detail;
    if (text && !same) window.barLines.push([line, detail]);
  }).observe(document, { childList: true, subtree: true, characterData: true });
}"""


def number(text: str) -> int:
    """A count as the app writes it ("6,003")."""
    return int(text.replace(",", ""))


def test_first_download_progress_counts_each_entity_as_received_and_no_deletions(
    phone: Page, server: Server
) -> None:
    seeded(server, 6000)
    with server.client("admin") as admin:
        farm = admin.post("/v1/entities/account/records", json={"name": "Farm"}).json()["id"]
        admin.post("/v1/entities/contact/records", json={"lastname": "Novak", "account": farm})
        for subject in ("Visit", "Cancelled"):
            made = admin.post(
                "/v1/entities/appointment/records",
                json={"subject": subject, "start": "2099-03-01T09:00:00Z", "regarding": farm},
            )
        gone = made.json()["id"]
        assert admin.delete(f"/v1/entities/appointment/records/{gone}").status_code == 204
    phone.add_init_script(f"addEventListener('DOMContentLoaded', {BAR_LINES})")
    app_login(phone, server, "alice")
    events = phone.evaluate(
        """async () => {
          const { activeEngine } = await import("/app/js/sync.js");
          const seen = [];
          activeEngine().on("progress", (p) => seen.push(p));
          await activeEngine().sync();
          return seen.filter((p) => p.received).map((p) => [p.received, p.per_entity]);
        }"""
    )
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    held = sum(store_call(phone, "countRecords", e) for e in ("account", "contact", "appointment"))
    assert held == 6003
    assert len(events) >= 2
    for received, per_entity in events:
        assert sum(per_entity.values()) == received
    assert events[-1][0] == held
    # "Syncing… 2,500 of 6,003 records" over "Accounts 2,500 of 6,001 · Contacts 0 of 1…"
    shown = [
        (line.split(), detail)
        for line, detail in phone.evaluate("window.barLines")
        if line.startswith("Syncing… ") and line.split()[1][0].isdigit()
    ]
    assert shown
    for words, detail in shown:
        per_entity = [number(part.split()[1]) for part in detail.split(" · ")]
        assert sum(per_entity) == number(words[1]), (words, detail)
    assert shown[-1][0][1:4] == [f"{held:,}", "of", f"{held:,}"]


SEARCH_READ_AHEAD = """import("/app/js/sync.js").then((m) =>
  m.activeEngine().store.searchReady.has("account"))"""


def test_after_a_sync_the_search_entries_are_read_ahead_for_the_first_search(
    phone: Page, server: Server
) -> None:
    seeded(server, 300)
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    # Nobody has searched yet: the app reads the entries while it is idle.
    deadline = time.monotonic() + 10
    while not phone.evaluate(SEARCH_READ_AHEAD) and time.monotonic() < deadline:
        phone.wait_for_timeout(100)
    assert phone.evaluate(SEARCH_READ_AHEAD)
    phone.goto("/app/#/list/account")
    phone.get_by_role("searchbox", name="Search accounts").fill("account 0000042")
    expect(phone.locator(".list-pane a.card")).to_have_count(1)
    expect(phone.locator(".list-pane a.card")).to_contain_text("Account 0000042")


def serve_release(tmp: Path, port: int, db_url: str, css: str) -> subprocess.Popen[bytes]:
    """`fieldsync serve` of a new release on `port`: this package copied with `css` added
    to the app's stylesheet (any changed file is a new version of the app)."""
    release = tmp / "release"
    shutil.copytree(Path(fieldsync.__file__).parent, release / "fieldsync")
    with (release / "fieldsync" / "app" / "app.css").open("a") as sheet:
        sheet.write(css)
    process = subprocess.Popen(
        [sys.executable, "-m", "fieldsync", "serve", "--db", db_url, "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(release)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/app/app.css", timeout=2).text.endswith(css):
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the new release did not start")


CACHES = "caches.keys()"
SERVED_CSS = "fetch('/app/app.css').then((r) => r.text())"


def test_a_new_release_waits_until_the_worker_reloads_and_keeps_the_phones_data(
    restartable_phone: Page, restartable: Restartable, tmp_path: Path
) -> None:
    phone, server = restartable_phone, restartable.as_server()
    downloaded(phone, server, 30)
    edit(phone, "createRecord", "account", {"name": "Typed before the update"})
    old_caches = phone.evaluate(CACHES)

    restartable.stop()
    marker = "\n/* the next release */\n"
    release = serve_release(tmp_path, restartable.port, restartable.db.url, marker)
    try:
        phone.reload()
        update = phone.get_by_role("button", name="Update ready — reload")
        expect(update).to_be_visible()
        # Until the worker accepts, the phone runs the version it has.
        assert not phone.evaluate(SERVED_CSS).endswith(marker)
        update.click()
        expect(phone.locator("#update")).to_be_hidden()
        phone.wait_for_function(f"{SERVED_CSS}.then((t) => t.endsWith({json.dumps(marker)}))")
        new_caches = phone.evaluate(CACHES)
        assert len(new_caches) == 1
        assert new_caches != old_caches
        assert store_call(phone, "countRecords", "account") == 31
        app_sync(phone)
        names = {record["name"] for record in server_records(server).values()}
        assert "Typed before the update" in names
    finally:
        release.kill()
        release.wait()
