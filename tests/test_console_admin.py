"""The console's other pages in Chromium: fields, records, users, devices, the dashboard."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.conftest import Server
from tests.helpers import office_edit, server_values, set_entity, synced_account
from tests.test_console import log_in

from fieldsync.errors import ServerRefused


def test_a_field_added_in_the_console_reaches_the_device(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    device = server.device("tablet", "alice")
    device.sync()
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/entities/account")
    add = page.locator("form", has=page.get_by_role("heading", name="Add a field"))
    add.get_by_label("Name").fill("website")
    add.get_by_label("Type").select_option("string")
    add.get_by_label("Label").fill("Web site")
    add.get_by_label("Max length").fill("200")
    add.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("status")).to_contain_text("Field added")
    expect(page.get_by_label("Label of website")).to_have_value("Web site")

    page.get_by_label("Label of phone").fill("Telephone")
    page.get_by_label("phone is required").check()
    page.get_by_role("button", name="Save fields").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")

    device.sync()
    website = device.entity("account").field("website")
    phone = device.entity("account").field("phone")
    assert website is not None
    assert website.max_length == 200
    assert phone is not None
    assert (phone.label, phone.required) == ("Telephone", True)


def test_a_bad_field_is_refused_with_a_message_and_nothing_published(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    before = crm.get("/v1/project").json()["version"]
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/entities/account")
    add = page.locator("form", has=page.get_by_role("heading", name="Add a field"))
    add.get_by_label("Name").fill("rating")
    add.get_by_label("Type").select_option("picklist")
    add.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("alert")).to_have_text("picklist rating needs options")
    assert crm.get("/v1/project").json()["version"] == before


def test_a_stale_record_form_is_refused_and_a_fresh_one_saved(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    device = server.device("tablet", "alice")
    record_id = synced_account(device, name="Acme", phone="100")
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/records/account?q=acm")
    page.get_by_role("link", name="Acme").click()
    page.get_by_label("Phone").fill("555")
    office_edit(crm, record_id, city="Vienna")  # someone else saves first
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("reload it and try again")
    assert server_values(crm, record_id)["phone"] == "100"
    expect(page.get_by_label("City")).to_have_value("Vienna")  # the form shows what is stored now

    page.get_by_label("Phone").fill("555")
    page.get_by_label("Employees").fill("forty")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text("Employees must be a number, not 'forty'")
    page.get_by_label("Employees").fill("40")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Record saved.")
    saved = server_values(crm, record_id)
    assert (saved["phone"], saved["employees"], saved["city"]) == ("555", 40, "Vienna")
    device.sync()
    assert device.get("account", record_id) == server_values(crm, record_id)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Record deleted.")
    device.sync()
    assert device.get("account", record_id) is None


def test_users_are_added_given_passwords_and_disabled(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/users")
    add = page.locator("form", has=page.get_by_role("heading", name="Add a user"))
    add.get_by_label("Username").fill("carol")
    add.get_by_label("Password").fill("first-pass")
    add.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text("User added.")
    phone = server.device("phone", "carol", "first-pass")

    page.get_by_label("New password for carol").fill("second-pass")
    page.locator("#user-carol").get_by_role("button", name="Set").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed")
    login = {"username": "carol", "password": "second-pass"}
    assert httpx.post(f"{server.url}/v1/auth/login", json=login).status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#user-carol").get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("User disabled")
    expect(page.locator("#user-carol")).to_contain_text("disabled")
    assert httpx.post(f"{server.url}/v1/auth/login", json=login).status_code == 401
    with pytest.raises(ServerRefused, match="401"):
        phone.sync()


def test_a_revoked_device_must_log_in_again_and_its_troubles_are_listed(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    device = server.device("tablet", "alice")
    record_id = synced_account(device)
    device.update("account", record_id, {"phone": "+421 900 123 456"})
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    shorter = [f | {"max_length": 10} if f["name"] == "phone" else f for f in fields]
    set_entity(crm, "account", fields=shorter)  # the server now refuses the device's phone
    device.sync()
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/devices")
    page.get_by_role("link", name=device.device_id).click()
    expect(page.get_by_role("heading", name="Open conflicts (0)")).to_be_visible()
    expect(page.get_by_role("heading", name="Rejected changes (1)")).to_be_visible()
    expect(page.locator(".badge.rejected")).to_have_text("too_long")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign out (revoke token)").click()
    expect(page.get_by_role("status")).to_contain_text("signed out")
    with pytest.raises(ServerRefused, match="401"):
        device.sync()


def test_the_dashboard_counts_syncs_and_conflicts_per_policy(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    device = server.device("tablet", "alice")
    record_id = synced_account(device, phone="1")
    device.update("account", record_id, {"phone": "2"})
    office_edit(crm, record_id, phone="3")
    device.sync()  # a Server Wins conflict
    log_in(page, server.url)
    today = page.locator("table.compact tbody tr").first
    expect(today.locator("td").nth(1)).to_have_text("2")  # two syncs
    expect(today.locator("td").nth(2)).to_have_text("1")  # one Server Wins conflict
    expect(page.locator("svg.chart rect.bar.server_wins")).to_have_count(1)
    expect(page.locator(".stat", has_text="records")).to_contain_text(re.compile(r"^\s*1\b"))
