"""The field app's push in Chromium at phone size, against a real server over HTTP.

Local changes are made through the app's own modules (edits.js) and synced by the
engine the app runs; what the server holds is read through the records API, what the
phone holds through its store. The app syncs by itself 2 s after a local change, so
the office's edits and the routes that stand between the app and the server come
before the phone's edits. SQLite only: the server's push and policies run on both
backends in test_policies_e2e.py and test_exactly_once.py; here the subject is the app.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route

from app_fixtures import PHONE, app_login, app_sync, new_device
from conftest import Server
from helpers import (
    UPDATE_UPDATE,
    full,
    office_delete,
    office_edit,
    server_record,
    server_values,
    set_entity,
)

PUSH = "**/v1/sync/push*"

APP = """async ([what, args]) => {
  const { activeEngine } = await import("/app/js/sync.js");
  const edits = await import("/app/js/edits.js");
  const { request } = await import("/app/js/store.js");
  const store = activeEngine().store;
  const all = (name) => store.transaction(name, "readonly", (tx) =>
    request(tx.objectStore(name).getAll()));
  const acts = {
    create: (entity, values) => edits.createRecord(store, entity, values),
    update: (entity, id, values) => edits.updateRecord(store, entity, id, values),
    remove: (entity, id) => edits.deleteRecord(store, entity, id),
    row: (entity, id) => store.getRecord(entity, id),
    pending: () => store.pendingCount(),
    conflicts: () => store.allConflicts(),
    notices: () => store.notices(),
    outbox: () => all("outbox"),
    records: (entity) => all("records").then((rows) => rows.filter((r) => r.entity === entity)),
    decide: (id, choice, picks) => store.transaction("conflicts", "readwrite", async (tx) => {
      const conflicts = tx.objectStore("conflicts");
      const conflict = await request(conflicts.get(id));
      const decided = { ...conflict, choice, picks, decided_at: new Date().toISOString() };
      await request(conflicts.put(decided));
    }),
  };
  return acts[what](...args);
}"""


def signed_in(page: Page, server: Server, user: str = "alice") -> None:
    """Sign in through the app; returns once its engine runs."""
    app_login(page, server, user)


def app(page: Page, what: str, *args: Any) -> Any:
    """Do `what` with the app's modules in the page (see APP)."""
    return page.evaluate(APP, [what, list(args)])


@pytest.fixture
def alice(phone: Page, server: Server) -> Page:
    """The phone, signed in as alice, after its first sync."""
    signed_in(phone, server)
    assert app_sync(phone)["ok"]
    return phone


def synced(page: Page, **values: Any) -> str:
    """An account created on the phone and synced: its id."""
    record_id: str = app(
        page, "create", "account", {"name": "Acme", "city": "Bratislava", **values}
    )
    assert app_sync(page)["ok"]
    return record_id


def accounts_named(crm: httpx.Client, name: str) -> list[dict[str, Any]]:
    answer = crm.get("/v1/entities/account/records", params={"limit": 1000}).json()
    return [r for r in answer["records"] if r["record"]["name"] == name and not r["deleted"]]


class Held:
    """Pushes let through to the server whose answers are held back from the page."""

    def __init__(self, page: Page) -> None:
        self.routes: list[tuple[Route, Any]] = []
        self.arrived = threading.Event()
        page.route(PUSH, self.hold)

    def hold(self, route: Route) -> None:
        self.routes.append((route, route.fetch()))  # the server applies it
        self.arrived.set()

    def wait(self, page: Page) -> None:
        while not self.arrived.is_set():
            page.wait_for_timeout(50)

    def release(self) -> None:
        for route, response in self.routes:
            route.fulfill(response=response)


def start_sync(page: Page) -> None:
    """Start a sync and return at once (its push may be held); `finish_sync` awaits it."""
    page.evaluate(
        "() => { window.syncing = import('/app/js/sync.js').then((m) => m.activeEngine().sync()); }"
    )


def finish_sync(page: Page) -> dict[str, Any]:
    """The result of the sync `start_sync` started."""
    result: dict[str, Any] = page.evaluate("() => window.syncing")
    return result


def test_offline_create_edit_delete_reach_the_server_parents_first(
    alice: Page, crm: httpx.Client
) -> None:
    kept = synced(alice, phone="100")
    dropped = synced(alice, name="Dropped")
    alice.context.set_offline(True)
    new = app(alice, "create", "account", {"name": "Globex", "city": "Nitra"})
    person = app(alice, "create", "contact", {"lastname": "Novak", "account": new})
    app(alice, "update", "account", new, {"phone": "42"})  # the parent's last edit comes last
    app(alice, "update", "account", kept, {"city": "Kosice"})
    app(alice, "remove", "account", dropped)
    assert app(alice, "pending") == 4
    assert not app_sync(alice)["ok"]  # offline: nothing sent, nothing lost
    assert app(alice, "pending") == 4
    alice.context.set_offline(False)

    result = app_sync(alice)

    assert result["ok"]
    assert app(alice, "pending") == 0
    assert server_values(crm, new) == {**server_values(crm, new), "name": "Globex", "phone": "42"}
    assert server_values(crm, person, "contact")["account"] == new
    assert server_values(crm, kept)["city"] == "Kosice"
    assert server_values(crm, dropped) is None
    assert app(alice, "row", "account", dropped) is None
    assert app(alice, "row", "contact", person)["state"] == "synced"


def test_more_than_a_batch_goes_in_order_parents_first(alice: Page, crm: httpx.Client) -> None:
    created = alice.evaluate(
        """async () => {
          const { activeEngine } = await import("/app/js/sync.js");
          const edits = await import("/app/js/edits.js");
          const store = activeEngine().store;
          const ids = [];
          for (let n = 0; n < 1000; n++) {
            ids.push(await edits.createRecord(store, "account", { name: `Many ${n}` }));
          }
          return ids;
        }"""
    )
    last = created[-1]
    person = app(alice, "create", "contact", {"lastname": "Novak", "account": last})
    app(alice, "update", "account", last, {"city": "Nitra"})  # after the child, yet first

    result = app_sync(alice)

    assert result["ok"]
    assert app(alice, "pending") == 0
    assert server_values(crm, person, "contact")["account"] == last
    assert server_values(crm, last)["city"] == "Nitra"
    assert len([r for r in app(alice, "records", "account") if r["state"] == "synced"]) == 1000


def test_a_tab_closed_while_its_push_is_on_the_way_is_applied_once(
    browser: Browser, server: Server, crm: httpx.Client
) -> None:
    phone = new_device(browser, server.url, PHONE)
    signed_in(phone, server)
    assert app_sync(phone)["ok"]
    record_id = synced(phone)
    version = server_record(crm, record_id)["version"]
    held = Held(phone)
    app(phone, "update", "account", record_id, {"city": "Kosice"})
    app(phone, "create", "account", {"name": "Once"})
    start_sync(phone)
    held.wait(phone)
    assert len(app(phone, "outbox")) == 1
    [(route, _)] = held.routes
    batch_id = route.request.post_data_json["batch_id"]
    phone.close()  # the answer never reaches the app
    sent: list[str] = []  # the batches pushed from now on (the app syncs as it opens)

    def note(request: Request) -> None:
        if "/v1/sync/push" in request.url:
            sent.append(request.post_data_json["batch_id"])

    phone.context.on("request", note)

    again = phone.context.new_page()
    signed_in(again, server)
    result = app_sync(again)

    assert result["ok"]
    assert sent[0] == batch_id  # the outbox's batch again, under its own id
    assert app(again, "pending") == 0
    assert app(again, "outbox") == []
    assert app(again, "conflicts") == []
    assert len(accounts_named(crm, "Once")) == 1
    assert server_record(crm, record_id)["version"] == version + 1
    assert server_values(crm, record_id)["city"] == "Kosice"
    phone.context.close()


@pytest.mark.parametrize(("policy", "outcome", "expected"), UPDATE_UPDATE)
def test_each_policy_leaves_the_phone_as_the_server(
    alice: Page, crm: httpx.Client, policy: str, outcome: str, expected: dict[str, Any]
) -> None:
    set_entity(crm, "account", on_conflict=policy)
    record_id = synced(alice, phone="100")
    office_edit(crm, record_id, city="Zilina", phone="200")
    app(alice, "update", "account", record_id, {"city": "Kosice"})

    assert app_sync(alice)["ok"]

    assert server_values(crm, record_id) == expected
    row = app(alice, "row", "account", record_id)
    assert (row["state"], row["data"]) == ("synced", expected)
    notices = app(alice, "notices")
    if policy == "server_wins":  # what the worker typed was replaced: the app says so
        [notice] = notices
        assert notice["record_id"] == record_id
        assert notice["title"] == "Acme"
        assert notice["fields"] == [{"name": "city", "typed": "Kosice", "kept": "Zilina"}]
    else:
        assert notices == []


def user_action_conflict(page: Page, crm: httpx.Client) -> tuple[str, dict[str, Any]]:
    """An open conflict on the phone: it changed the city, the office the city and phone."""
    set_entity(crm, "account", on_conflict="user_action")
    record_id = synced(page, phone="100")
    office_edit(crm, record_id, city="Zilina", phone="200")
    app(page, "update", "account", record_id, {"city": "Kosice"})
    assert app_sync(page)["ok"]
    [conflict] = app(page, "conflicts")
    return record_id, conflict


def test_user_action_keeps_both_sides_and_the_base_for_the_user(
    alice: Page, crm: httpx.Client
) -> None:
    record_id, conflict = user_action_conflict(alice, crm)

    assert server_values(crm, record_id) == full(city="Zilina", phone="200")
    assert conflict["kind"] == "update_update"
    assert (conflict["base"]["city"], conflict["device"]["city"]) == ("Bratislava", "Kosice")
    assert (conflict["server"]["city"], conflict["server"]["phone"]) == ("Zilina", "200")
    row = app(alice, "row", "account", record_id)
    assert row["conflict_id"] == conflict["id"]
    assert row["data"]["city"] == "Kosice"
    assert row["state"] == "updated"


def test_a_merge_is_made_at_push_time_over_the_record_as_it_is(
    alice: Page, crm: httpx.Client
) -> None:
    record_id, conflict = user_action_conflict(alice, crm)
    app(alice, "decide", conflict["id"], "merge", {"city": "device", "phone": "server"})
    app(alice, "update", "account", record_id, {"email": "a@acme.example"})  # after deciding

    assert app_sync(alice)["ok"]

    expected = full(city="Kosice", phone="200", email="a@acme.example")
    assert server_values(crm, record_id) == expected
    assert app(alice, "conflicts") == []
    row = app(alice, "row", "account", record_id)
    assert (row["state"], row["data"]) == ("synced", expected)


def test_a_decision_met_by_a_newer_office_edit_comes_back_explained(
    alice: Page, crm: httpx.Client
) -> None:
    record_id, conflict = user_action_conflict(alice, crm)
    office_edit(crm, record_id, phone="300")
    app(alice, "decide", conflict["id"], "device", None)

    assert app_sync(alice)["ok"]

    assert server_values(crm, record_id)["phone"] == "300"
    [again] = app(alice, "conflicts")
    assert again["id"] != conflict["id"]
    assert again["choice"] is None
    assert again["superseded"]["previous_choice"] == "device"
    assert again["server"]["phone"] == "300"
    assert app(alice, "row", "account", record_id)["conflict_id"] == again["id"]


def test_a_conflict_resolved_in_the_console_reaches_the_phone(
    alice: Page, crm: httpx.Client
) -> None:
    record_id, conflict = user_action_conflict(alice, crm)
    answer = crm.post(f"/v1/admin/conflicts/{conflict['id']}/resolve", json={"use": "device"})
    assert answer.status_code == 200, answer.text

    assert app_sync(alice)["ok"]

    assert app(alice, "conflicts") == []
    row = app(alice, "row", "account", record_id)
    assert row["state"] == "synced"
    assert row["data"] == server_values(crm, record_id)
    assert row["data"]["city"] == "Kosice"


def test_a_conflict_superseded_in_the_console_moves_and_asks_again(
    alice: Page, crm: httpx.Client
) -> None:
    record_id, conflict = user_action_conflict(alice, crm)
    office_edit(crm, record_id, phone="300")
    path = f"/v1/admin/conflicts/{conflict['id']}/resolve"
    refused = crm.post(path, json={"use": "server"})
    assert refused.status_code == 409, refused.text
    newer = refused.json()["error"]["details"]["conflict_id"]
    app(alice, "decide", conflict["id"], "device", None)  # decided, not sent yet

    assert app_sync(alice)["ok"]

    [moved] = app(alice, "conflicts")
    assert moved["id"] == newer
    assert (moved["choice"], moved["superseded"]["previous_choice"]) == (None, "device")
    assert (moved["device"]["city"], moved["server"]["phone"]) == ("Kosice", "300")
    row = app(alice, "row", "account", record_id)
    assert (row["conflict_id"], row["data"]["city"]) == (newer, "Kosice")
    assert server_values(crm, record_id)["city"] == "Zilina"  # nothing sent undecided


def too_large_when_many(route: Route) -> None:
    """A proxy that takes one change a request at most, with an HTML page."""
    body = json.loads(route.request.post_data or "{}")
    if len(body.get("changes", [])) > 1:
        route.fulfill(status=413, content_type="text/html", body="<h1>413 Too Large</h1>")
    else:
        route.continue_()


def test_a_proxys_413_splits_the_batch_until_it_passes(alice: Page, crm: httpx.Client) -> None:
    alice.route(PUSH, too_large_when_many)
    for n in range(3):
        app(alice, "create", "account", {"name": f"Split {n}"})

    assert app_sync(alice)["ok"]

    assert app(alice, "pending") == 0
    assert app(alice, "outbox") == []
    assert [len(accounts_named(crm, f"Split {n}")) for n in range(3)] == [1, 1, 1]


def test_a_single_change_answered_413_becomes_a_refusal(alice: Page, crm: httpx.Client) -> None:
    alice.route(PUSH, lambda route: route.fulfill(status=413, body="<h1>Too Large</h1>"))
    record_id = app(alice, "create", "account", {"name": "Huge"})

    app_sync(alice)

    row = app(alice, "row", "account", record_id)
    assert row["error"]["code"] == "too_large"
    assert "413" in row["error"]["message"]
    assert app(alice, "outbox") == []
    assert accounts_named(crm, "Huge") == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", "<html><body>Sign in to the hotel Wi-Fi</body></html>"),
        ("application/json", '{"results": []}'),
        ("application/json", '{"results": [{"status": "rejec'),
    ],
    ids=["portal", "wrong-count", "cut"],
)
def test_an_answer_not_of_the_contract_refuses_nothing(
    alice: Page, crm: httpx.Client, content_type: str, body: str
) -> None:
    alice.route(PUSH, lambda route: route.fulfill(content_type=content_type, body=body))
    record_id = app(alice, "create", "account", {"name": "Portal"})

    assert not app_sync(alice)["ok"]

    row = app(alice, "row", "account", record_id)
    assert (row["state"], row["error"]) == ("created", None)
    alice.unroute(PUSH)
    assert app_sync(alice)["ok"]
    assert app(alice, "pending") == 0
    assert len(accounts_named(crm, "Portal")) == 1


def test_an_edit_made_while_the_push_is_on_its_way_stays_pending(
    alice: Page, crm: httpx.Client
) -> None:
    record_id = synced(alice)
    held = Held(alice)
    app(alice, "update", "account", record_id, {"city": "Kosice"})
    start_sync(alice)
    held.wait(alice)
    app(alice, "update", "account", record_id, {"phone": "555"})
    held.release()
    assert finish_sync(alice)["ok"]
    alice.unroute(PUSH)

    row = app(alice, "row", "account", record_id)
    assert (row["state"], row["data"]["city"], row["data"]["phone"]) == ("updated", "Kosice", "555")
    assert server_values(crm, record_id)["phone"] is None
    assert app_sync(alice)["ok"]
    assert server_values(crm, record_id)["phone"] == "555"
    assert app(alice, "pending") == 0


def test_server_wins_over_a_delete_tells_the_worker(alice: Page, crm: httpx.Client) -> None:
    edited = synced(alice, name="Edited here")
    deleted = synced(alice, name="Deleted here")
    office_delete(crm, edited)
    office_edit(crm, deleted, city="Zilina")
    app(alice, "update", "account", edited, {"city": "Kosice"})
    app(alice, "remove", "account", deleted)

    assert app_sync(alice)["ok"]

    assert app(alice, "row", "account", edited) is None  # stays deleted, as on the server
    back = app(alice, "row", "account", deleted)  # the delete was dropped: S comes back
    assert (back["state"], back["data"]["city"]) == ("synced", "Zilina")
    notices = {n["record_id"]: n for n in app(alice, "notices")}
    assert notices[edited]["deleted"] is True
    assert notices[edited]["title"] == "Edited here"
    assert notices[edited]["fields"] == [{"name": "city", "typed": "Kosice", "kept": None}]
    assert (notices[deleted]["op"], notices[deleted]["deleted"]) == ("delete", False)


@pytest.mark.parametrize("settled_by", ["phone", "console"])
def test_a_child_refused_for_its_parent_goes_again_once_the_parent_settles(
    alice: Page, crm: httpx.Client, settled_by: str
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    parent = synced(alice)
    office_delete(crm, parent)
    app(alice, "update", "account", parent, {"city": "Kosice"})
    child = app(alice, "create", "contact", {"lastname": "Novak", "account": parent})
    assert app_sync(alice)["ok"]
    [conflict] = app(alice, "conflicts")
    assert conflict["kind"] == "update_delete"
    assert app(alice, "row", "contact", child)["error"]["code"] == "parent_conflict"

    if settled_by == "phone":  # "Restore my version"
        app(alice, "decide", conflict["id"], "device", None)
    else:
        path = f"/v1/admin/conflicts/{conflict['id']}/resolve"
        assert crm.post(path, json={"use": "device"}).status_code == 200
    assert app_sync(alice)["ok"]

    assert server_values(crm, parent)["city"] == "Kosice"
    assert server_values(crm, child, "contact")["account"] == parent
    assert app(alice, "row", "contact", child)["error"] is None
    assert app(alice, "pending") == 0
    assert app(alice, "conflicts") == []


@pytest.fixture
def second_phone(browser: Browser, server: Server) -> Iterator[Page]:
    """Another phone of alice's: a browser context of its own."""
    page = new_device(browser, server.url, PHONE)
    signed_in(page, server)
    yield page
    page.context.close()


def test_two_phones_converge_with_the_server(
    alice: Page, second_phone: Page, crm: httpx.Client
) -> None:
    set_entity(crm, "account", conflict_detection="field")
    shared = synced(alice, phone="100")
    gone = synced(alice, name="Gone")
    assert app_sync(second_phone)["ok"]
    app(alice, "update", "account", shared, {"city": "Kosice"})
    app(second_phone, "update", "account", shared, {"phone": "200"})
    app(second_phone, "remove", "account", gone)
    app(second_phone, "create", "account", {"name": "Made on the second"})
    office_edit(crm, shared, email="office@acme.example")

    for _ in range(2):
        for device in (alice, second_phone):
            assert app_sync(device)["ok"]

    answer = crm.get("/v1/entities/account/records", params={"limit": 1000}).json()
    on_server = {r["id"]: r["record"] for r in answer["records"] if not r["deleted"]}
    assert on_server[shared] == full(city="Kosice", phone="200", email="office@acme.example")
    assert gone not in on_server
    for device in (alice, second_phone):
        rows = app(device, "records", "account")
        assert {r["id"]: r["data"] for r in rows} == on_server
        assert {r["state"] for r in rows} == {"synced"}
