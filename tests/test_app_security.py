"""The field app against hostile data: a record's text never runs as code.

The back office (or another device) can write any text into a record; the phone shows
it on every screen. The app builds its screens from DOM nodes and text, never from HTML,
and its answers carry a Content-Security-Policy that refuses inline scripts, so a name
such as `<img src=x onerror=alert(1)>` is shown as those characters and nothing runs. A
script that ran would open a dialog: the page counts them. These tests run once, on
SQLite: their subject is the app in the browser, whatever database the server uses.
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Dialog, Page, expect

from app_fixtures import app_login, app_sync
from conftest import Server
from helpers import office_edit, set_entity

HOSTILE = "<img src=x onerror=alert(1)>"
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "manifest-src": "'self'",
    "worker-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
}
EDIT = """async ([id, values]) => {
  const { activeEngine } = await import("/app/js/sync.js");
  const edits = await import("/app/js/edits.js");
  await edits.updateRecord(activeEngine().store, "account", id, values);
}"""


def policy(header: str) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in header.split(";") if d.strip())
    return {name: value for name, value in directives}


def test_every_answer_of_the_app_carries_its_security_headers(server: Server) -> None:
    for path in ("/app", "/app/", "/app/js/main.js", "/app/app.css", "/app/sw.js"):
        answer = httpx.get(f"{server.url}{path}")
        assert answer.status_code in (200, 307), path
        assert policy(answer.headers["content-security-policy"]) == POLICY, path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["referrer-policy"] == "same-origin", path


def test_a_hostile_name_is_shown_as_text_on_every_screen_and_nothing_runs(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    dialogs: list[str] = []

    def note(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    phone.on("dialog", note)
    set_entity(crm, "account", on_conflict="user_action")
    account = crm.post("/v1/entities/account/records", json={"name": HOSTILE, "city": HOSTILE})
    assert account.status_code == 201, account.text
    account_id = account.json()["id"]
    contact = crm.post(
        "/v1/entities/contact/records", json={"lastname": HOSTILE, "account": account_id}
    )
    assert contact.status_code == 201, contact.text
    app_login(phone, server, "alice")
    assert app_sync(phone)["ok"]

    screens = {
        "list": "#/list/account",
        "record": f"#/record/account/{account_id}",  # with its related contact
        "contact": f"#/record/contact/{contact.json()['id']}",  # its account by name
        "form": f"#/edit/account/{account_id}",
    }
    for name, hash_ in screens.items():
        phone.evaluate(f"location.hash = '{hash_}'")
        main = phone.locator("main")
        if name == "form":
            expect(phone.get_by_label(re.compile(r"^Name")).first).to_have_value(HOSTILE)
        else:
            expect(main.get_by_text(HOSTILE).locator("visible=true").first).to_be_visible()
        assert main.locator("img[src=x]").count() == 0, name
    phone.evaluate("location.hash = '#/list/account'")
    phone.get_by_role("searchbox").fill("onerror")
    expect(phone.locator("main").get_by_text(HOSTILE).locator("visible=true").first).to_be_visible()

    # A conflict on it: Sync errors and the conflict screen show the name and the values.
    phone.evaluate(EDIT, [account_id, {"city": "Kosice"}])
    office_edit(crm, account_id, city=f"{HOSTILE} office")
    assert app_sync(phone)["conflicts"] == 1
    phone.evaluate("location.hash = '#/errors'")
    expect(phone.locator("main").get_by_text(HOSTILE).locator("visible=true").first).to_be_visible()
    phone.locator("main").get_by_role("link", name=re.compile("onerror")).first.click()
    expect(
        phone.locator("main").get_by_text(f"{HOSTILE} office").locator("visible=true").first
    ).to_be_visible()
    assert phone.locator("img[src=x]").count() == 0

    # Even HTML put into the page by hand cannot run its handler: the policy refuses it.
    phone.evaluate(f"document.body.insertAdjacentHTML('beforeend', '{HOSTILE}')")
    phone.wait_for_timeout(500)  # the image's error event, if a handler were allowed
    assert dialogs == []
