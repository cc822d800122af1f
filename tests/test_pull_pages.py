"""The device's pull over a real server and a real store, in pages of five records.

A first download of several pages ends with exactly the server's records, every kind of
value as the server sent it (the device stores a page without decoding it); the next page
is asked for as soon as the headers of the one before arrive (before its body); a first
download whose connection is cut midway keeps the pages stored before the cut and resumes
after the last of them. The device's page size is made small here so that a few records
make several pages.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app_fixtures import Restartable
from fieldsync.device import Device, pull
from fieldsync.errors import Offline
from fieldsync.server.api import create_app
from helpers import office_account

PAGE = 5
ACCOUNTS = 23  # five pages: four full, the last of three
ODD_VALUES = [  # what a store or a JSON encoder might change on the way
    {
        "name": 'a "quoted" \\ back\\slash, {braces}, [brackets], ümlaut, 🙂\nnew line\ttab',
        "employees": 2**62,
        "revenue": 0.1,
        "description": "",
    },
    {"name": "control \u0001, separator \u2028, </script>", "employees": -(2**63)},
    {"name": "ends in a backslash \\", "employees": 2**63 - 1, "revenue": -1234567.891},
    {"name": "small and large", "revenue": 1e-7, "city": None, "active": False},
    {"name": "several", "revenue": 12345678901234.5, "description": "Zeile 1\r\nZeile 2"},
]


class Pulls:
    """The server's app, noting each pull as it comes; it can hold one pull unanswered.

    The body of a page that has more after it goes out once the next page was asked for,
    or after `wait` seconds: `early` says, for each such page, whether the next was asked
    for first.
    """

    def __init__(self, app: ASGIApp, wait: float = 5) -> None:
        self.app, self.wait = app, wait
        self.asked = 0
        self.first_screens = 0
        self.early: list[bool] = []
        self.hold_from: int | None = None  # the pulls from this one on get no answer
        self.held = threading.Event()
        self.changed = asyncio.Condition()  # made again in each new server's event loop
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/sync/pull":
            await self.app(scope, receive, send)
            return
        if b"first=true" in scope["query_string"]:  # the first screen: no page of the download
            self.first_screens += 1
            await self.app(scope, receive, send)
            return
        if self.loop is not asyncio.get_running_loop():
            self.loop, self.changed = asyncio.get_running_loop(), asyncio.Condition()
        index = self.asked
        async with self.changed:
            self.asked += 1
            self.changed.notify_all()
        if self.hold_from is not None and index >= self.hold_from:
            self.held.set()
            await asyncio.Event().wait()  # until the server is stopped
        more = False

        async def sending(message: Message) -> None:
            nonlocal more
            if message["type"] == "http.response.start":
                more = (b"fieldsync-more", b"true") in message["headers"]
            elif message["type"] == "http.response.body" and more:
                self.early.append(await self._asked_after(index))
                more = False
            await send(message)

        await self.app(scope, receive, sending)

    async def _asked_after(self, index: int) -> bool:
        """Whether the pull after the `index`th comes within `wait` seconds."""
        async with self.changed:
            try:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: self.asked > index + 1), self.wait
                )
            except TimeoutError:
                return False
        return True


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pull, "PAGE_SIZE", PAGE)
    monkeypatch.setattr(pull, "COMPRESSED_PAGE_SIZE", PAGE)


@pytest.fixture
def pulls(restartable: Restartable) -> Pulls:
    """The `restartable` server, serving through `Pulls`, with ACCOUNTS accounts."""
    noted = Pulls(create_app(restartable.db))
    restartable.stop()
    restartable.start(noted)
    with restartable.as_server().client("admin") as office:
        for n in range(ACCOUNTS):
            office_account(office, name=f"Account {n:02}")
    return noted


def server_accounts(server: Restartable) -> dict[str, dict[str, Any]]:
    with server.as_server().client("admin") as office:
        listed = office.get("/v1/entities/account/records", params={"limit": 1000}).json()
    return {r["id"]: r["record"] for r in listed["records"]}


def phone(server: Restartable, directory: Path) -> Device:
    return Device.login(directory, server.url, "alice", "secret")


def test_a_first_download_of_several_pages_asks_for_each_next_page_before_it_is_needed(
    restartable: Restartable, pulls: Pulls, tmp_path: Path
) -> None:
    device = phone(restartable, tmp_path / "phone")

    report = device.sync()

    assert report.pulled == ACCOUNTS
    assert pulls.first_screens == 1
    assert pulls.asked == 5
    assert pulls.early == [True] * 4  # each page's successor was on its way before it ended
    assert device.records("account") == server_accounts(restartable)
    assert device.sync().pulled == 0
    device.close()


def test_a_first_download_keeps_every_kind_of_value_as_the_server_sent_it(
    restartable: Restartable, pulls: Pulls, tmp_path: Path
) -> None:
    with restartable.as_server().client("admin") as office:
        odd = [office_account(office, **values) for values in ODD_VALUES]
    device = phone(restartable, tmp_path / "phone")

    device.sync()

    sent = server_accounts(restartable)
    shown = device.records("account")
    assert shown == sent
    for record_id in odd:  # as JSON, so that 2**62 is not taken for 2.0**62
        assert _json(device.get("account", record_id)) == _json(sent[record_id])
    assert [item.id for item in device.browse("account", "ümlaut, 🙂")] == odd[:1]
    device.close()


def _json(values: dict[str, Any] | None) -> bytes:
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def test_a_first_download_cut_midway_resumes_after_the_last_stored_page(
    restartable: Restartable, pulls: Pulls, tmp_path: Path
) -> None:
    device = phone(restartable, tmp_path / "phone")
    pulls.hold_from = 2  # the third page never comes: the server goes first
    outcome: list[BaseException] = []

    def first_download() -> None:
        try:
            device.sync()
        except BaseException as failure:  # the test checks it, in its own thread
            outcome.append(failure)

    downloading = threading.Thread(target=first_download)
    downloading.start()
    assert pulls.held.wait(30), "the download never reached its third page"
    restartable.stop()  # every connection closed: the third page is cut off
    downloading.join(60)
    assert [type(failure) for failure in outcome] == [Offline]
    kept = len(device.records("account"))
    assert kept == 2 * PAGE  # the two pages that came are stored

    pulls.hold_from = None
    restartable.start(pulls)
    asked = pulls.asked
    report = device.sync()

    assert report.pulled == ACCOUNTS - kept  # from the last stored page on, nothing again
    assert pulls.asked - asked == 3
    assert device.records("account") == server_accounts(restartable)
    device.close()
