"""The admin console in headless Chromium: On Conflict, the journal, restore, remote resolution."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from conftest import Server
from helpers import (
    log_in,
    office_edit,
    one_backend,
    server_values,
    set_entity,
    synced_account,
)

pytestmark = one_backend

PAGES = [
    "/admin",
    "/admin/entities",
    "/admin/entities/account",
    "/admin/conflicts",
    "/admin/records/account",
    "/admin/records/account/new",
    "/admin/users",
    "/admin/devices",
]


def set_on_conflict(page: Page, url: str, entity: str, policy_label: str) -> None:
    page.goto(f"{url}/admin/entities")
    page.get_by_label(f"On Conflict of {entity}").select_option(label=policy_label)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")


def open_latest_conflict(page: Page, url: str) -> None:
    page.goto(f"{url}/admin/conflicts")
    page.locator("table.journal tbody tr").first.get_by_role("link").first.click()


def field_row(page: Page, field: str):  # type: ignore[no-untyped-def]
    return page.locator(f'table.sides tr[data-field="{field}"]')


def test_partial_device_wins_conflict_is_highlighted_and_its_losing_value_restored(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    set_on_conflict(page, server.url, "account", "Partial Device Wins")
    expect(page.get_by_label("On Conflict of account")).to_have_value("partial_device_wins")

    device = server.device("tablet", "alice")
    record_id = synced_account(device, phone="100")
    device.update("account", record_id, {"phone": "200"})
    office_edit(crm, record_id, phone="300", city="Vienna")
    device.sync()
    assert server_values(crm, record_id)["phone"] == "200"  # the device's field won

    open_latest_conflict(page, server.url)
    expect(page.locator("h1 .badge")).to_have_text("merged")
    phone, city, name = field_row(page, "phone"), field_row(page, "city"), field_row(page, "name")
    expect(phone).to_have_class(re.compile(r"\bdiffers\b"))
    expect(phone.locator("td.device")).to_have_class(re.compile(r"\bchanged\b"))
    expect(phone.locator("td.server")).to_have_class(re.compile(r"\bchanged\b"))
    expect(city.locator("td.server")).to_have_class(re.compile(r"\bchanged\b"))
    expect(city.locator("td.device")).not_to_have_class(re.compile(r"\bchanged\b"))
    expect(name).not_to_have_class(re.compile(r"\bdiffers\b"))
    expect(phone.locator("td.result")).to_have_text("200")
    expect(city.locator("td.result")).to_have_text("Vienna")

    restore = page.locator("form.restore")
    expect(restore.get_by_label("phone")).to_be_checked()
    expect(restore.get_by_label("city")).to_have_count(0)  # city did not lose
    restore.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("status")).to_contain_text("Restored")
    expect(page.locator("h1")).to_contain_text("restored")

    device.sync()
    assert device.get("account", record_id) == server_values(crm, record_id)
    assert device.get("account", record_id)["phone"] == "300"
    assert device.get("account", record_id)["city"] == "Vienna"


def test_user_action_conflict_resolved_in_the_console_reaches_the_device(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    set_on_conflict(page, server.url, "account", "User Action")
    device = server.device("tablet", "alice")
    record_id = synced_account(device, phone="100", email="old@acme.example")
    device.update("account", record_id, {"phone": "200", "email": "device@acme.example"})
    office_edit(crm, record_id, phone="300", email="office@acme.example")
    device.sync()
    assert len(device.errors()) == 1

    page.goto(f"{server.url}/admin/conflicts?open_only=true")
    rows = page.locator("table.journal tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("open")
    rows.first.get_by_role("link").first.click()
    merge = page.locator("fieldset.merge")
    expect(merge).to_be_hidden()
    page.get_by_label("Merge field by field").check()
    expect(merge).to_be_visible()
    merge.locator(".pick", has_text="phone").get_by_label("device").check()
    merge.locator(".pick", has_text="email").get_by_label("server").check()
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_contain_text("Resolved")
    expect(page.locator("h1 .badge").first).to_have_text("merged")

    device.sync()
    assert device.errors() == []
    merged = {"phone": "200", "email": "office@acme.example"}
    assert {k: device.get("account", record_id)[k] for k in merged} == merged
    assert device.get("account", record_id) == server_values(crm, record_id)


def test_a_console_choice_made_before_the_office_changed_the_record_is_refused_and_shown_anew(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    set_on_conflict(page, server.url, "account", "User Action")
    device = server.device("tablet", "alice")
    record_id = synced_account(device, phone="100", email="old@acme.example")
    device.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    device.sync()
    open_latest_conflict(page, server.url)
    stale_url = page.url
    office_edit(crm, record_id, phone="555", email="office@acme.example")  # while it is shown
    newest = server_values(crm, record_id)

    page.get_by_label("Use the device version").check()
    page.get_by_role("button", name="Resolve").click()

    expect(page.get_by_role("alert")).to_contain_text("Not resolved")
    expect(page.locator("h1 .badge").first).to_have_text("open")
    expect(field_row(page, "phone").locator("td.server")).to_have_text("555")
    expect(field_row(page, "city").locator("td.device")).to_have_text("Kosice")
    assert server_values(crm, record_id) == newest
    device.sync()
    [shown] = device.errors()
    assert (shown["server"], device.get("account", record_id)["city"]) == (newest, "Kosice")

    page.get_by_label("Use the device version").check()  # decided on what the office wrote
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_contain_text("Resolved")
    device.sync()
    assert device.errors() == []
    assert device.get("account", record_id) == server_values(crm, record_id)
    assert device.get("account", record_id)["city"] == "Kosice"

    page.goto(stale_url)
    expect(page.locator("h1 .badge").first).to_have_text("superseded")
    page.get_by_role("link", name="the conflict met next on this record").click()
    expect(page.locator("h1 .badge").first).to_have_text("device_wins")


def test_a_choice_the_office_overtook_with_nothing_left_to_decide_shows_what_was_written(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    set_on_conflict(page, server.url, "account", "User Action")
    set_entity(crm, "account", conflict_detection="field")
    device = server.device("tablet", "alice")
    record_id = synced_account(device, phone="100", email="old@acme.example")
    device.update("account", record_id, {"city": "Kosice", "email": "new@acme.example"})
    office_edit(crm, record_id, city="Zilina")
    device.sync()
    open_latest_conflict(page, server.url)
    office_edit(crm, record_id, city="Kosice")  # the office agrees, while it is shown

    page.get_by_label("Use the server version").check()
    page.get_by_role("button", name="Resolve").click()

    expect(page.get_by_role("alert")).to_contain_text("nothing was left to decide")
    expect(page.locator("h1 .badge").first).to_have_text("superseded")
    expect(field_row(page, "email").locator("td.result")).to_have_text("new@acme.example")
    expect(field_row(page, "city").locator("td.result")).to_have_text("Kosice")
    assert server_values(crm, record_id)["email"] == "new@acme.example"
    restore = page.locator("form.restore")  # the server values the conflict met, all of them
    for name, value in (("city", "Zilina"), ("email", "old@acme.example"), ("phone", "100")):
        expect(restore.get_by_label(name)).to_be_checked()
        expect(restore.locator("label.check", has_text=name)).to_contain_text(value)


def test_a_field_worker_is_refused_every_console_page(page: Page, server: Server) -> None:
    log_in(page, server.url, "alice")
    expect(page.get_by_role("alert")).to_have_text("Only admins may use the console.")
    assert not any(c["name"] == "fieldsync_console" for c in page.context.cookies())

    token = httpx.post(
        f"{server.url}/v1/auth/login", json={"username": "alice", "password": "secret"}
    ).json()["token"]
    page.context.add_cookies(
        [{"name": "fieldsync_console", "value": token, "url": f"{server.url}/admin"}]
    )
    for path in PAGES:
        response = page.goto(f"{server.url}{path}")
        assert response is not None
        assert response.status == 403, path
        expect(page.get_by_role("alert")).to_have_text("only admins may use the console")


def test_without_a_session_every_page_asks_to_log_in(page: Page, server: Server) -> None:
    for path in PAGES:
        page.goto(f"{server.url}{path}")
        expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/login?next=/admin/users")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("secret")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/admin/users")


def test_wrong_password_is_refused_and_logout_ends_the_session(page: Page, server: Server) -> None:
    log_in(page, server.url, password="wrong")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    log_in(page, server.url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "fieldsync_console")
    assert cookie["httpOnly"]
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    # The old cookie is dead on the server, not only deleted in this browser.
    page.context.add_cookies([{**cookie, "expires": -1}])  # type: ignore[typeddict-item]
    page.goto(f"{server.url}/admin/users")
    expect(page).to_have_url(re.compile(r"/admin/login"))


def test_a_form_without_the_session_csrf_token_changes_nothing(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    cookie = next(c for c in page.context.cookies() if c["name"] == "fieldsync_console")
    forged = httpx.post(
        f"{server.url}/admin/entities",
        data={"csrf": "guessed", "on_conflict.account": "full_device_wins"},
        cookies={"fieldsync_console": cookie["value"]},
    )
    assert forged.status_code == 403
    assert "reload the page" in forged.text
    assert crm.get("/v1/admin/entities/account").json()["on_conflict"] == "server_wins"


def test_console_pages_forbid_framing_and_inline_scripts(page: Page, server: Server) -> None:
    response = page.goto(f"{server.url}/admin/login")
    assert response is not None
    headers = response.headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]


def test_the_console_login_is_throttled_too(page: Page, server: Server) -> None:
    for _ in range(5):
        log_in(page, server.url, password="wrong")
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    log_in(page, server.url)
    expect(page.get_by_role("alert")).to_contain_text("Too many failed logins; try again in")
    expect(page.get_by_role("heading", name="Dashboard")).to_have_count(0)
