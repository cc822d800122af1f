"""The field app against an attacker, on a phone (390x844) in Debian's Chromium.

A record's text never runs as code: the back office (or another device) can write any
text into a record; the app builds its screens from DOM nodes and text, never from HTML,
and its answers carry a Content-Security-Policy that refuses inline scripts, so a name
such as `<img src=x onerror=alert(1)>` is shown as those characters and nothing runs (a
script that ran would open a dialog: the page counts them). Logging out and in again
keeps one device and leaves no token valid (offline too: the logout reaches the server
once the phone is back online); an office-written email address cannot add mail
headers; a made-up or malformed route says what is true; the login screen uses a
tablet's width. These tests run once, on SQLite: their subject is the app in the
browser, whatever database the server uses.
"""

from __future__ import annotations

import re
import time

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
    # The list found by the search shows the name too: wait until Sync errors is drawn.
    expect(phone.get_by_role("heading", name="Sync errors")).to_be_visible()
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


WAIT_S = 15


def token_of(page: Page) -> str:
    token: str = page.evaluate(
        "import('/app/js/sync.js').then((m) => m.activeEngine().store.getMeta('token'))"
    )
    return token


def pull_status(server: Server, token: str) -> int:
    """What the server answers a pull with this token: 200, or 401 once it is revoked."""
    answer = httpx.get(f"{server.url}/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


def log_out(page: Page) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("dialog").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def log_in(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill("secret")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#sync-text")).to_contain_text("Synced")


def device_id_shown(page: Page) -> str:
    page.get_by_role("navigation").get_by_role("link", name="Settings").click()
    return page.locator(".facts div", has_text="Device id").locator("dd").inner_text()


def alices_devices(crm: httpx.Client) -> list[str]:
    alice = next(
        u["id"] for u in crm.get("/v1/admin/users").json()["users"] if u["username"] == "alice"
    )
    devices = crm.get("/v1/admin/devices").json()["devices"]
    return [d["id"] for d in devices if d["user_id"] == alice]


def test_logging_out_and_in_again_keeps_one_device_per_user_and_revokes_every_token(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    device = device_id_shown(phone)
    tokens = []
    for _ in range(3):
        tokens.append(token_of(phone))
        log_out(phone)
        log_in(phone, "alice")
        assert device_id_shown(phone) == device
    assert alices_devices(crm) == [device]
    assert [pull_status(server, t) for t in tokens] == [401, 401, 401]
    assert pull_status(server, token_of(phone)) == 200
    log_out(phone)
    log_in(phone, "bob")  # another user on the same phone gets a device of their own
    assert device_id_shown(phone) != device
    log_out(phone)
    log_in(phone, "alice")
    assert device_id_shown(phone) == device
    assert alices_devices(crm) == [device]


def test_a_logout_made_offline_revokes_the_token_once_back_online(
    phone: Page, server: Server
) -> None:
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    token = token_of(phone)
    phone.context.set_offline(True)
    phone.get_by_role("navigation").get_by_role("link", name="Settings").click()
    phone.get_by_role("button", name="Log out").click()
    expect(phone.get_by_role("dialog")).to_contain_text(
        "You are offline: the server ends this session when the phone is next online."
    )
    phone.get_by_role("dialog").get_by_role("button", name="Log out").click()
    expect(phone.get_by_role("heading", name="Log in")).to_be_visible()
    assert pull_status(server, token) == 200  # the phone could not tell the server yet
    phone.context.set_offline(False)
    deadline = time.monotonic() + WAIT_S
    while pull_status(server, token) != 401:
        assert time.monotonic() < deadline, "the token stayed valid once the phone was online"
        phone.wait_for_timeout(100)


def test_an_email_written_by_the_office_cannot_add_mail_headers(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    plain = crm.post(
        "/v1/entities/account/records", json={"name": "Farm", "email": "info@farm.example"}
    ).json()["id"]
    forged = crm.post(
        "/v1/entities/account/records",
        json={"name": "Boss", "email": "boss@example.com?bcc=spy@evil.example&body=hi"},
    ).json()["id"]
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    phone.goto(f"/app/#/record/account/{plain}")
    expect(phone.get_by_role("link", name="Email")).to_have_attribute(
        "href", "mailto:info@farm.example"
    )
    phone.goto(f"/app/#/record/account/{forged}")
    expect(phone.locator(".detail-pane h1")).to_have_text("Boss")
    expect(phone.locator(".detail-pane")).to_contain_text("boss@example.com?bcc=")  # shown
    assert phone.locator(".detail-pane a[href^='mailto:']").count() == 0


def test_a_malformed_or_made_up_route_says_not_found_with_a_way_home(
    phone: Page, server: Server
) -> None:
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    phone.goto("/app/#/record/account/%E0%A4%A")
    expect(phone.locator("#screen h1")).to_have_text("Not found")
    phone.reload()
    expect(phone.locator("#screen h1")).to_have_text("Not found")
    phone.goto("/app/#/settings")
    expect(phone.locator("#screen h1")).to_have_text("Settings")
    phone.evaluate("location.hash = '#/edit/account/%E0%A4%A'")
    expect(phone.locator("#screen h1")).to_have_text("Not found")
    for made_up in ("#/new/gadget", "#/record/gadget/1", "#/conflict/no-such-conflict"):
        phone.goto(f"/app/{made_up}")
        expect(phone.locator("#screen h1:visible")).to_have_text("Not found")
        expect(phone.locator("#screen")).not_to_contain_text("deleted")
        expect(phone.locator("#screen")).not_to_contain_text("settled")
    phone.goto("/app/#/new/gadget")
    phone.get_by_role("link", name="Go to the start").click()
    expect(phone.locator(".tiles")).to_be_visible()


def test_logging_out_with_one_change_unsent_says_one_change(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    crm.put("/v1/admin/entities/account", json={"label": "Equipment"})
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    nav = phone.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Equipment 0")).to_be_visible()
    phone.context.set_offline(True)
    phone.goto("/app/#/new/account")
    phone.get_by_label("Name").fill("Nitra Mill")
    phone.get_by_role("button", name="Save").click()
    expect(phone.locator(".detail-pane h1")).to_have_text("Nitra Mill")
    nav.get_by_role("link", name="Settings").click()
    phone.get_by_role("button", name="Log out").click()
    expect(phone.get_by_role("dialog")).to_contain_text(
        "1 change is not sent yet. It stays on this phone and is sent when you log in"
    )


def test_the_login_screen_uses_a_tablets_width(tablet: Page) -> None:
    tablet.goto("/app/")
    form = tablet.get_by_role("form", name="Log in")
    expect(form).to_be_visible()
    box = form.bounding_box()
    assert box is not None
    assert box["width"] >= 300  # not squeezed into the hidden nav's column
