"""The device app in headless Chromium at phone size (390x844): offline edits, Sync, Sync errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import Server
from fieldsync.device import Device
from fieldsync.device.app import create_app
from fieldsync.device.app.syncer import SETTINGS_KEY, AutoSync
from fieldsync.server.background import free_port, serving
from helpers import AWKWARD, awkward_account, office_edit, one_backend, server_values, set_entity

pytestmark = one_backend

MANUAL = AutoSync(on_start=False, after_change=False, change_delay=1, interval=0)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A browser tab the size of a phone."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@contextmanager
def app_for(server: Server, name: str, auto: AutoSync = MANUAL) -> Iterator[str]:
    """The device app of a device logged in as alice; yields its URL."""
    device = server.device(name, "alice")
    with device.store.transaction() as conn:
        device.store.set_meta(conn, SETTINGS_KEY, asdict(auto))
    device.close()
    with serving(create_app(server.tmp / name)) as url:
        yield url


def sync(tab: Page) -> None:
    """Tap Sync and wait for this sync's outcome (not the last one's)."""
    before = int(tab.locator("#sync").get_attribute("data-syncs") or 0)
    tab.get_by_role("button", name="Sync").click()
    expect(tab.locator("#sync")).to_have_attribute("data-syncs", str(before + 1))


def create_account(tab: Page, url: str, **values: str) -> str:
    tab.goto(f"{url}/e/account/new")
    for label, value in values.items():
        tab.get_by_label(label.capitalize()).fill(value)
    tab.get_by_role("button", name="Create").click()
    expect(tab.get_by_role("status")).to_have_text("Created on this device.")
    return tab.url.split("/")[-1].split("?")[0]


def test_a_user_action_conflict_is_merged_field_by_field_on_the_phone(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    with app_for(server, "phone") as url:
        record_id = create_account(phone, url, name="Acme", phone="100", email="old@acme.example")
        sync(phone)
        phone.goto(f"{url}/e/account/{record_id}")
        phone.get_by_label("Phone").fill("200")
        phone.get_by_label("Email").fill("device@acme.example")
        phone.get_by_role("button", name="Save").click()
        expect(phone.locator(".tag.unsynced")).to_be_visible()
        office_edit(crm, record_id, phone="300", email="office@acme.example")

        sync(phone)
        expect(phone.locator("#sync-detail")).to_contain_text("1 conflicts")
        banner = phone.get_by_role("link", name="Sync errors (1)")
        expect(banner).to_be_visible()
        banner.click()
        phone.get_by_role("link", name=re.compile("Account: Acme")).click()
        expect(phone.locator(".what")).to_have_text("Changed here and on the server.")
        for field in ("phone", "email"):
            expect(phone.locator(f'tr[data-field="{field}"]')).to_have_class("differs")
        expect(phone.locator('tr[data-field="name"]')).not_to_have_class("differs")
        merge = phone.locator("form.merge")
        merge.locator('fieldset[data-field="phone"]').get_by_label("200").check()
        merge.locator('fieldset[data-field="email"]').get_by_label("office@acme.example").check()
        merge.get_by_role("button", name="Merge").click()
        expect(phone.get_by_role("status")).to_contain_text("Your choice is saved")

        sync(phone)
        expect(phone.locator("#errors-banner")).to_be_hidden()
        device = Device(server.tmp / "phone")
        merged = device.get("account", record_id)
        assert merged == server_values(crm, record_id)
        assert merged is not None
        assert (merged["phone"], merged["email"]) == ("200", "office@acme.example")


def test_saving_only_the_phone_on_the_phone_keeps_every_other_value_byte_for_byte(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    record_id = awkward_account(crm)
    with app_for(server, "phone") as url:
        phone.goto(url)
        sync(phone)
        phone.goto(f"{url}/e/account/{record_id}")
        expect(phone.get_by_label("Industry")).to_have_value("Retail")  # retired, still shown
        expect(phone.get_by_label("Street")).to_have_value("Main St 1\nBuilding B")
        phone.get_by_label("Phone").fill("200")
        phone.get_by_role("button", name="Save").click()
        expect(phone.get_by_role("status")).to_have_text("Saved on this device.")
        assert Device(server.tmp / "phone").get("account", record_id) == {**AWKWARD, "phone": "200"}

        sync(phone)
        expect(phone.locator("#errors-banner")).to_be_hidden()
        assert server_values(crm, record_id) == {**AWKWARD, "phone": "200"}


def test_a_refused_change_is_explained_fixed_and_retried(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    with app_for(server, "phone") as url:
        record_id = create_account(phone, url, name="Acme")
        sync(phone)
        phone.goto(f"{url}/e/account/{record_id}")
        phone.get_by_label("Phone").fill("+421 900 123 456")
        phone.get_by_role("button", name="Save").click()
        fields = crm.get("/v1/admin/entities/account").json()["fields"]
        shorter = [f | {"max_length": 10} if f["name"] == "phone" else f for f in fields]
        set_entity(crm, "account", fields=shorter)

        sync(phone)
        phone.get_by_role("link", name="Sync errors (1)").click()
        expect(phone.locator("li.rejected .sub")).to_have_text(
            "Refused by the server: Phone is too long: the server takes at most 10 characters."
        )
        phone.get_by_role("link", name=re.compile("Account: Acme")).click()
        expect(phone.locator(".problem")).to_contain_text("The server refused this change.")
        expect(phone.locator("label.invalid")).to_contain_text("Phone")
        phone.get_by_label("Phone").fill("900123456")
        phone.get_by_role("button", name="Save and retry").click()
        sync(phone)
        expect(phone.locator("#errors-banner")).to_be_hidden()
        assert server_values(crm, record_id)["phone"] == "900123456"


def test_a_delete_conflict_offers_keep_server_version(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    with app_for(server, "phone") as url:
        record_id = create_account(phone, url, name="Acme", city="Brno")
        sync(phone)
        phone.goto(f"{url}/e/account/{record_id}")
        phone.once("dialog", lambda dialog: dialog.accept())
        phone.get_by_role("button", name="Delete").click()
        expect(phone.get_by_role("status")).to_have_text("Deleted on this device.")
        office_edit(crm, record_id, city="Vienna")

        sync(phone)
        phone.get_by_role("link", name="Sync errors (1)").click()
        phone.get_by_role("link", name=re.compile("Account: Acme")).click()
        expect(phone.locator(".what")).to_have_text("Deleted here, changed on the server.")
        expect(phone.locator("form.merge")).to_have_count(0)
        expect(phone.get_by_role("button", name="Delete anyway")).to_be_visible()
        phone.get_by_role("button", name="Keep server version").click()
        sync(phone)
        phone.goto(f"{url}/e/account")
        expect(phone.locator("ul.items li")).to_have_count(1)
        phone.get_by_role("link", name="Acme").click()
        expect(phone.get_by_label("City")).to_have_value("Vienna")


def test_the_app_works_while_the_server_is_down(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    with app_for(server, "phone") as url:
        store = Device(server.tmp / "phone").store
        with store.transaction() as conn:  # the server's address now answers nothing
            store.set_meta(conn, "server", f"http://127.0.0.1:{free_port()}")
        record_id = create_account(phone, url, name="Offline Inc")
        sync(phone)
        expect(phone.locator("#sync-phase")).to_have_text("Offline")
        expect(phone.locator("#sync-detail")).to_contain_text("your changes are kept")
        expect(phone.locator("#errors-banner")).to_be_hidden()
        phone.goto(url)
        expect(phone.locator("#unsynced")).to_have_text("1")
        phone.get_by_role("link", name=re.compile("Account")).click()
        expect(phone.locator("li.unsynced")).to_contain_text("Offline Inc")

        with store.transaction() as conn:  # the server is back
            store.set_meta(conn, "server", server.url)
        sync(phone)
        expect(phone.locator("li.unsynced")).to_have_count(0)
        assert server_values(crm, record_id)["name"] == "Offline Inc"


def test_a_change_syncs_by_itself_when_auto_sync_is_on(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    with app_for(server, "phone") as url:
        phone.goto(f"{url}/settings")
        phone.get_by_label("Sync after a change").check()
        phone.get_by_label("Seconds to wait after the last change").fill("1")
        phone.get_by_role("button", name="Save").click()
        expect(phone.get_by_role("status")).to_have_text("Sync settings saved.")
        record_id = create_account(phone, url, name="Auto Ltd")
        expect(phone.locator("#sync-phase")).to_have_text("Synced")  # nobody tapped Sync
        assert server_values(crm, record_id)["name"] == "Auto Ltd"


def test_forms_from_other_pages_and_other_hosts_are_refused(server: Server) -> None:
    with app_for(server, "phone") as url:
        forged = httpx.post(f"{url}/e/account/new", data={"f.name": "Forged"})
        assert forged.status_code == 403
        rebound = httpx.get(url, headers={"Host": "attacker.example"})
        assert rebound.status_code == 403
        assert Device(server.tmp / "phone").records("account") == {}


def test_an_offset_past_any_list_is_refused_by_the_device_app(server: Server) -> None:
    with app_for(server, "phone") as url:
        refused = httpx.get(f"{url}/e/account", params={"offset": 2**63})
        assert refused.status_code == 422
        assert httpx.get(f"{url}/e/account", params={"offset": 50}).status_code == 200
