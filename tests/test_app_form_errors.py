"""A form's errors in the field app as a field worker meets them, on a phone (390x844).

The field the server refused gets the focus when the form opens from Sync errors, and a
field's error goes as soon as the person changes that field.
"""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from app_fixtures import app_login, app_sync
from conftest import Server
from helpers import set_entity


def zip_limited_to(crm: httpx.Client, length: int) -> list[dict[str, Any]]:
    """The account's fields as the server has them, the zip code limited to `length`."""
    fields: list[dict[str, Any]] = crm.get("/v1/admin/entities/account").json()["fields"]
    return [{**f, "max_length": length} if f["name"] == "zip" else f for f in fields]


def test_fix_from_sync_errors_puts_the_focus_on_the_refused_field(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    answer = crm.post("/v1/entities/account/records", json={"name": "Vienna Tractors"})
    assert answer.status_code == 201, answer.text
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    phone.context.set_offline(True)
    phone.goto(f"/app/#/edit/account/{answer.json()['id']}")
    phone.get_by_label("Zip").fill("1010")
    phone.get_by_role("button", name="Save").click()
    expect(phone.locator(".detail-pane .mark")).to_contain_text("Not synced")
    set_entity(crm, "account", fields=zip_limited_to(crm, 3), confirm=True)
    phone.context.set_offline(False)
    app_sync(phone)

    phone.goto("/app/#/errors")
    phone.get_by_role("button", name="Fix Zip").click()
    expect(phone.get_by_role("alert")).to_contain_text("1 field needs your attention")
    expect(phone.get_by_label("Zip")).to_be_focused()


def test_a_fields_error_goes_when_the_person_changes_that_field(
    phone: Page, server: Server
) -> None:
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    phone.goto("/app/#/new/appointment")
    form = phone.locator(".detail-pane form")
    form.get_by_role("button", name="Save").click()
    expect(form.locator("#f-subject-error")).to_have_text("Subject is required.")
    expect(form.get_by_role("alert")).to_contain_text("1 field needs your attention")
    expect(form.get_by_label("Subject")).to_be_focused()

    form.get_by_label("Subject").type("Soil samples")
    expect(form.locator("#f-subject-error")).to_be_hidden()
    expect(form.get_by_label("Subject")).not_to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_be_hidden()
