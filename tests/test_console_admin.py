"""The console's other pages in Chromium: fields, records, users, devices, the dashboard."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from conftest import Server
from fieldsync.errors import ServerRefused
from helpers import (
    AWKWARD,
    awkward_account,
    log_in,
    office_edit,
    one_backend,
    server_record,
    server_values,
    set_entity,
    synced_account,
)

pytestmark = one_backend


def test_settings_changed_on_several_entities_are_all_saved_by_the_one_save(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    before = crm.get("/v1/project").json()["version"]
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/entities")
    page.get_by_label("On Conflict of contact").select_option(label="User Action")
    page.get_by_label("Conflict detection of appointment").select_option("field")
    page.get_by_label("Label of appointment").fill("Visit")

    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.get_by_label("On Conflict of contact")).to_have_value("user_action")
    expect(page.get_by_label("Conflict detection of appointment")).to_have_value("field")
    contact = crm.get("/v1/admin/entities/contact").json()
    appointment = crm.get("/v1/admin/entities/appointment").json()
    assert contact["on_conflict"] == "user_action"
    assert (appointment["conflict_detection"], appointment["label"]) == ("field", "Visit")
    assert crm.get("/v1/admin/entities/account").json()["on_conflict"] == "server_wins"
    assert crm.get("/v1/project").json()["version"] > before


def dismiss_next_dialog(page: Page) -> list[str]:
    """Answer the page's next dialog with "stay"; the returned list gets its type."""
    asked: list[str] = []

    def stay(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.once("dialog", stay)
    return asked


def test_leaving_the_entities_page_with_unsaved_settings_asks_first(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/entities")
    page.get_by_label("On Conflict of contact").click()
    page.get_by_label("On Conflict of contact").select_option(label="Full Device Wins")
    asked = dismiss_next_dialog(page)
    page.get_by_role("link", name="Users").click()

    expect(page.get_by_label("On Conflict of contact")).to_have_value("full_device_wins")
    assert asked == ["beforeunload"]
    assert crm.get("/v1/admin/entities/contact").json()["on_conflict"] == "server_wins"


def test_adding_a_field_while_other_fields_are_edited_unsaved_asks_first(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/entities/account")
    page.get_by_label("Label of phone").fill("Telephone")
    add = page.locator("form", has=page.get_by_role("heading", name="Add a field"))
    add.get_by_label("Name").fill("website")
    asked = dismiss_next_dialog(page)
    add.get_by_role("button", name="Add field").click()

    expect(page.get_by_label("Label of phone")).to_have_value("Telephone")
    assert asked == ["beforeunload"]
    assert all(
        f["name"] != "website" for f in crm.get("/v1/admin/entities/account").json()["fields"]
    )


def test_a_bad_setting_among_good_ones_publishes_nothing_and_keeps_what_was_typed(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    before = crm.get("/v1/project").json()["version"]
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/entities")
    page.get_by_label("On Conflict of contact").select_option(label="User Action")
    page.get_by_label("Sync filter of account").evaluate(
        "select => select.options[0].value = 'everyone'"  # what no option offers
    )
    page.get_by_label("Sync filter of account").select_option("everyone")

    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("alert")).to_contain_text("sync_filter")
    expect(page.get_by_label("On Conflict of contact")).to_have_value("user_action")
    assert crm.get("/v1/project").json()["version"] == before
    assert crm.get("/v1/admin/entities/contact").json()["on_conflict"] == "server_wins"


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


def test_saving_only_the_phone_keeps_every_other_value_byte_for_byte(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    record_id = awkward_account(crm)
    device = server.device("tablet", "alice")
    device.sync()
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/records/account/{record_id}")
    expect(page.get_by_label("Industry")).to_have_value("Retail")  # retired, still shown
    expect(page.get_by_label("Street")).to_have_value("Main St 1\nBuilding B")
    page.get_by_label("Phone").fill("200")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Record saved.")
    assert server_values(crm, record_id) == {**AWKWARD, "phone": "200"}

    version = server_record(crm, record_id)["version"]
    page.get_by_role("button", name="Save").click()  # nothing changed: nothing written
    expect(page.get_by_role("status")).to_have_text("Nothing was changed, so nothing was saved.")
    assert server_record(crm, record_id)["version"] == version
    device.sync()
    assert device.get("account", record_id) == {**AWKWARD, "phone": "200"}


def test_a_stale_record_form_merges_edits_of_other_fields(
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
    expect(page.get_by_role("status")).to_have_text(
        "Record saved, together with the changes someone else saved meanwhile."
    )
    saved = server_values(crm, record_id)
    assert (saved["phone"], saved["city"]) == ("555", "Vienna")
    expect(page.get_by_label("City")).to_have_value("Vienna")
    device.sync()
    assert device.get("account", record_id) == server_values(crm, record_id)


def test_a_stale_record_form_asks_only_about_fields_both_changed_and_keeps_what_was_typed(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    device = server.device("tablet", "alice")
    record_id = synced_account(device, name="Acme", phone="100")
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/records/account/{record_id}")
    page.get_by_label("Phone").fill("555")
    page.get_by_label("Email").fill("mine@acme.example")
    office_edit(crm, record_id, phone="777", city="Vienna")  # someone else saves first
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Someone else changed Phone meanwhile")
    clash = page.locator('.clash[data-field="phone"]')
    expect(clash.locator(".theirs")).to_have_text("777")
    expect(clash.locator(".yours")).to_have_text("555")
    expect(page.locator(".clash")).to_have_count(1)  # email and city are no question
    expect(page.get_by_label("Phone")).to_have_value("555")
    expect(page.get_by_label("Email")).to_have_value("mine@acme.example")
    expect(page.get_by_label("City")).to_have_value("Vienna")
    assert server_values(crm, record_id)["phone"] == "777"  # nothing written yet

    page.get_by_label("Employees").fill("forty")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text("Employees must be a number, not 'forty'")
    expect(page.get_by_label("Phone")).to_have_value("555")
    page.get_by_label("Employees").fill("40")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Record saved.")
    saved = server_values(crm, record_id)
    assert (saved["phone"], saved["email"], saved["city"], saved["employees"]) == (
        "555",
        "mine@acme.example",
        "Vienna",
        40,
    )
    device.sync()
    assert device.get("account", record_id) == server_values(crm, record_id)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("Record deleted.")
    device.sync()
    assert device.get("account", record_id) is None


def test_a_record_form_without_a_version_is_refused_and_keeps_what_was_typed(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    device = server.device("tablet", "alice")
    record_id = synced_account(device, name="Acme", phone="100")
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/records/account/{record_id}")
    page.locator('form.record-form input[name="version"]').evaluate(
        "input => { input.value = 'latest'; }"
    )
    page.get_by_label("Phone").fill("555")
    with page.expect_response(re.compile(r"/admin/records/account/")) as answer:
        page.get_by_role("button", name="Save").click()
    assert answer.value.status == 400
    expect(page.get_by_role("alert")).to_have_text(
        "the form has no record version; reload the record"
    )
    expect(page.get_by_label("Phone")).to_have_value("555")
    assert server_values(crm, record_id)["phone"] == "100"


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


def test_making_a_field_required_that_records_leave_empty_asks_for_confirmation(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    device = server.device("tablet", "alice")
    synced_account(device, phone=None)
    before = crm.get("/v1/project").json()["version"]
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/entities/account")
    page.get_by_label("phone is required").check()
    page.get_by_label("Label of phone").fill("Telephone")
    page.get_by_role("button", name="Save fields").click()

    expect(page.get_by_role("alert")).to_contain_text("account.phone made required")
    report = page.locator("section", has=page.get_by_role("heading", name="What this change"))
    expect(report).to_contain_text("values of 1 record no longer fit")
    expect(report).to_contain_text(device.device_id)
    expect(report).to_contain_text("unknown to the server")
    assert crm.get("/v1/project").json()["version"] == before

    report.get_by_role("button", name="Apply this change anyway").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.get_by_label("Label of phone")).to_have_value("Telephone")
    phone = crm.get("/v1/admin/entities/account").json()["fields"][1]
    assert (phone["name"], phone["required"], phone["label"]) == ("phone", True, "Telephone")
