"""The field app with the browser's text size doubled, as a person who needs large text sets it.

Chromium's font settings (the standard font at 32 px, the fixed one at 26 px: twice the
defaults) on a phone at 390x844, through the DevTools protocol as the browser's settings
page would set them. On every screen, a conflict and a change not sent yet included: no
sideways scrolling, the sticky header leaves most of the screen to the content, and no
word is broken across two lines.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from tools.common import create

from app_fixtures import PHONE, app_login, app_sync
from conftest import Server
from helpers import office_edit, set_entity

DOUBLED = {"standard": 32, "fixed": 26}

# The words of the page (letters only, a trailing stop or comma allowed) that the browser
# laid out over more than one line: a word broken in its middle.
BROKEN_WORDS = r"""() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.data.matchAll(/[\p{L}\u2019']+[.,:;!?…]?/gu)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const boxes = [...range.getClientRects()].filter((r) => r.width > 0);
      const lines = new Set(boxes.map((r) => Math.round(r.top)));
      if (lines.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""

# What the sticky header covers of the screen for good: nothing when it scrolls away.
STUCK_HEADER = """() => {
  const top = document.querySelector("header.top");
  return getComputedStyle(top).position === "sticky" ? top.getBoundingClientRect().height : 0;
}"""


def time_inside(page: Page, input_id: str) -> bool:
    """Whether the time of the date-time input `input_id` shows inside the input: its
    minutes (in the browser's own shadow tree, reached through DevTools) end within it."""
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    field = find(root, lambda n: attribute(n, "id") == input_id)
    minutes = find(field, lambda n: attribute(n, "pseudo") == "-webkit-datetime-edit-minute-field")
    outer = cdp.send("DOM.getBoxModel", {"nodeId": field["nodeId"]})["model"]["padding"]
    inner = cdp.send("DOM.getBoxModel", {"nodeId": minutes["nodeId"]})["model"]["border"]
    return bool(max(inner[0::2]) <= max(outer[0::2]) and max(inner[1::2]) <= max(outer[1::2]))


def find(node: dict[str, Any], test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first node under `node` (shadow roots included) that passes `test`."""
    if test(node):
        return node
    for child in node.get("children", []) + node.get("shadowRoots", []):
        with suppress(LookupError):
            return find(child, test)
    raise LookupError("no such node")


def attribute(node: dict[str, Any], name: str) -> str | None:
    pairs = node.get("attributes", [])
    return dict(zip(pairs[0::2], pairs[1::2], strict=True)).get(name)


def double_the_text_size(page: Page) -> None:
    """Set the browser's font sizes to twice their defaults (the user's setting)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.enable")
    cdp.send("Page.setFontSizes", {"fontSizes": DOUBLED})


def readable(page: Page, screen: str) -> None:
    """The screen as it shows now fits the phone's width, leaves at least two thirds of
    the height to the content and breaks no word."""
    page.wait_for_timeout(200)  # let a lazily loaded screen finish its layout
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{screen}: the page is {width} px wide"
    header = page.evaluate(STUCK_HEADER)
    assert header < PHONE["height"] / 3, f"{screen}: the header covers {header} px"
    assert page.evaluate(BROKEN_WORDS) == [], screen


def test_with_doubled_text_every_screen_fits_and_no_word_breaks(
    phone: Page, server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    farm = create(
        crm,
        "account",
        name="Bratislava Farm Supply",
        email="purchasing.department@bratislava-farm.example",
        city="Bratislava",
    )
    vienna = create(crm, "account", name="Vienna Tractors", city="Vienna")
    create(crm, "contact", firstname="Jana", lastname="Novak", account=farm)
    meeting = create(
        crm, "appointment", subject="Seed order", start="2098-01-07T13:00:00Z", regarding=farm
    )
    double_the_text_size(phone)
    app_login(phone, server, "alice")
    expect(phone.locator("#sync-text")).to_contain_text("Synced")
    readable(phone, "home")

    phone.goto(f"/app/#/edit/account/{farm}")
    phone.get_by_label("Email").fill("orders.and.invoices@bratislava-farm.example")
    phone.get_by_role("button", name="Save").click()
    expect(phone.locator(".detail-pane .mark")).to_contain_text("Not synced")
    office_edit(crm, farm, email="office.manager@bratislava-farm.example")
    app_sync(phone)
    phone.goto(f"/app/#/edit/account/{vienna}")
    phone.get_by_label("City").fill("Wien")
    phone.get_by_role("button", name="Save").click()
    bar = phone.locator("#sync-text")
    expect(bar).to_contain_text("1 conflict needs you")
    expect(bar).to_contain_text("1 change not sent yet")

    for screen in ("#/", "#/list/account", f"#/record/account/{farm}", "#/errors"):
        phone.goto(f"/app/{screen}")
        phone.locator("#screen h1:visible").first.wait_for()
        readable(phone, screen)
    phone.goto("/app/#/errors")
    phone.get_by_role("link", name="Bratislava Farm Supply").first.click()
    expect(phone.get_by_text("office.manager@bratislava-farm.example")).to_be_visible()
    readable(phone, "conflict")
    phone.goto(f"/app/#/edit/appointment/{meeting}")
    expect(phone.get_by_label("Start")).to_be_visible()
    readable(phone, "appointment form")
    # The form may still be laying out (fonts, the pane's scroll): ask until it settles.
    inside = False
    for _ in range(40):
        inside = time_inside(phone, "f-start")
        if inside:
            break
        phone.wait_for_timeout(250)
    assert inside, "the start's time is cut off"
