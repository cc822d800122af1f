"""The first screen: a first download starts with what the worker needs now.

`GET /v1/sync/pull?first=true` answers the worker's own records and the appointments
dated today or later (the demo project's `appointment` names `start` as its
`upcoming_field`), within the ordinary pull's scope; the device stores them, shows
them, then downloads everything. A download killed between the two converges. The
office's accounts (`others`) make the rest of the download, four times the first
screen or more, below which the first screen is sent empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from conftest import Server
from fieldsync.device import Device
from fieldsync.failpoints import VARIABLE
from helpers import office_delete, office_edit, set_entity

TODAY = date(2030, 6, 15)
ENTITIES = ("account", "contact", "appointment")


def at(day: date, hour: int = 9) -> str:
    return f"{day.isoformat()}T{hour:02}:00:00"


def days(n: int, since: date = TODAY) -> date:
    return since + timedelta(days=n)


def create(client: httpx.Client, entity: str, **values: Any) -> str:
    response = client.post(f"/v1/entities/{entity}/records", json=values)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def first_screen(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get(
        "/v1/sync/pull", params={"first": "true", "today": TODAY.isoformat(), **params}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def keys(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(change["entity"], change["id"]) for change in page["changes"]]


def ordinary_download(client: httpx.Client) -> set[tuple[str, str]]:
    """Every live record a first download from the empty cursor brings."""
    cursor, more, found = "", True, set()
    while more:
        page = client.get("/v1/sync/pull", params={"cursor": cursor}).json()
        found |= {(c["entity"], c["id"]) for c in page["changes"] if not c["deleted"]}
        cursor, more = page["cursor"], page["more"]
    return found


@pytest.fixture
def others(crm: httpx.Client) -> list[str]:
    """Twenty accounts of the office's, which every worker's download brings."""
    return [create(crm, "account", name=f"Account {n}") for n in range(20)]


def live(crm: httpx.Client, entity: str) -> dict[str, dict[str, Any]]:
    """Every live record of `entity` on the server, by id."""
    listed = crm.get(f"/v1/entities/{entity}/records", params={"limit": 1000}).json()
    return {r["id"]: r["record"] for r in listed["records"] if not r["deleted"]}


@pytest.mark.usefixtures("others")
def test_the_first_screen_holds_the_workers_own_records_and_todays_and_upcoming_appointments(
    server: Server, crm: httpx.Client
) -> None:
    with server.client("alice") as alice, server.client("bob") as bob:
        own_account = create(alice, "account", name="Alice's")
        own_contact = create(alice, "contact", lastname="Novak")
        own_past = create(alice, "appointment", subject="Last month", start=at(days(-30)))
        create(bob, "account", name="Bob's")
        create(crm, "account", name="The office's")
        create(crm, "appointment", subject="Yesterday", start=at(days(-1), 23))
        create(crm, "appointment", subject="Some day")
        later = create(bob, "appointment", subject="Next week", start=at(days(7)))
        today = create(crm, "appointment", subject="Today", start=at(TODAY, 0))
        cancelled = create(crm, "appointment", subject="Cancelled", start=at(days(1)))
        office_delete(crm, cancelled, "appointment")

        page = first_screen(alice)

    assert keys(page) == [
        ("appointment", today),  # upcoming, soonest first
        ("appointment", later),
        ("appointment", own_past),  # then the worker's own, newest first
        ("contact", own_contact),
        ("account", own_account),
    ]
    assert page["changes"][0]["record"]["subject"] == "Today"
    assert page["changes"][0]["deleted"] is False
    # No cursor of its own: the ordinary download follows, from the start.
    assert (page["cursor"], page["more"]) == ("", True)


@pytest.mark.usefixtures("others")
def test_the_first_screen_keeps_to_the_workers_scope(server: Server, crm: httpx.Client) -> None:
    with server.client("alice") as alice, server.client("bob") as bob:
        own_upcoming = create(alice, "appointment", subject="Mine", start=at(days(1)))
        create(alice, "contact", lastname="Hidden")
        create(bob, "appointment", subject="Bob's", start=at(days(1)))
        create(crm, "appointment", subject="The office's", start=at(TODAY))
        set_entity(crm, "appointment", sync_filter="owned")
        set_entity(crm, "contact", sync_filter="none")

        page = first_screen(alice)

        assert keys(page) == [("appointment", own_upcoming)]
        assert set(keys(page)) <= ordinary_download(alice)


@pytest.mark.usefixtures("others")
def test_the_first_screen_is_one_page_cut_by_limit_and_bytes(
    server: Server, crm: httpx.Client
) -> None:
    soonest = [
        create(crm, "appointment", subject=f"In {n} days", start=at(days(n)), description="x" * 900)
        for n in (3, 1, 2)
    ]
    with server.client("alice") as alice:
        assert keys(first_screen(alice, limit=2)) == [
            ("appointment", soonest[1]),
            ("appointment", soonest[2]),
        ]
        assert keys(first_screen(alice, max_bytes=1)) == [("appointment", soonest[1])]


@pytest.mark.usefixtures("others")
def test_the_workers_own_upcoming_records_keep_their_place_soonest_first(
    server: Server, crm: httpx.Client
) -> None:
    with server.client("alice") as alice:
        own_later = create(alice, "appointment", subject="Mine, later", start=at(days(5)))
        office_soon = create(crm, "appointment", subject="Soon", start=at(days(1)))
        own_soonest = create(alice, "appointment", subject="Mine, today", start=at(TODAY))
        newest = [create(alice, "contact", lastname=f"Newer {n}") for n in range(2)]
        for n in range(10):  # the whole download: four times the first screen or more
            create(crm, "account", name=f"More {n}")

        page = first_screen(alice, limit=4)

    assert keys(page) == [
        ("appointment", own_soonest),  # upcoming, soonest first, the worker's own too
        ("appointment", office_soon),
        ("appointment", own_later),
        ("contact", newest[1]),  # then the worker's own, newest first
    ]


@pytest.mark.usefixtures("others")
def test_the_first_screen_counts_the_days_of_the_device(server: Server, crm: httpx.Client) -> None:
    tomorrow = create(crm, "appointment", subject="Tomorrow", start=f"{days(1)}T09:00:00+02:00")
    with server.client("alice") as alice:
        assert keys(first_screen(alice)) == [("appointment", tomorrow)]
        assert keys(first_screen(alice, today=days(2).isoformat())) == []
        answer = alice.get("/v1/sync/pull", params={"first": "true"})  # the server's day
        empty_cursor = alice.get("/v1/sync/pull", params={"first": "true", "cursor": ""})
    assert answer.status_code == 200, answer.text
    assert empty_cursor.json() == answer.json()  # an empty cursor is no cursor


def test_a_first_screen_that_is_most_of_the_download_is_sent_empty(
    server: Server, crm: httpx.Client, others: list[str]
) -> None:
    assert len(others) == 20
    with server.client("alice") as alice:
        for n in range(6):
            create(alice, "account", name=f"Alice's {n}")
        assert len(first_screen(alice)["changes"]) == 6  # 6 of 26
        assert len(first_screen(alice, limit=2)["changes"]) == 2
        create(alice, "account", name="Alice's 7")
        assert first_screen(alice)["changes"] == []  # 7 of 27: more than a quarter
        assert first_screen(alice, limit=2)["changes"] == []  # however few a page holds


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"first": "true", "cursor": "x.1"}, "invalid_params"),
        ({"first": "true", "count": "true"}, "invalid_params"),
        ({"today": "2030-06-15"}, "invalid_params"),
        ({"first": "true", "today": "15.6.2030"}, "invalid_request"),
        ({"first": "true", "today": "2030-06-15T00:00:00"}, "invalid_request"),
        ({"first": "true", "today": "2030-02-30"}, "invalid_request"),
        ({"first": "true", "limit": "0"}, "invalid_request"),
        ({"first": "maybe"}, "invalid_request"),
    ],
)
def test_bad_first_screen_parameters_are_refused_clearly(
    server: Server, params: dict[str, str], code: str
) -> None:
    with server.client("alice") as alice:
        answer = alice.get("/v1/sync/pull", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


def test_the_first_screen_of_another_users_device_is_refused(server: Server) -> None:
    tablet = server.device("tablet", "bob")
    tablet.sync()
    with server.client("alice") as alice:
        answer = alice.get("/v1/sync/pull", params={"first": "true", "device_id": tablet.device_id})
    assert answer.status_code == 403, answer.text
    tablet.close()


def test_a_first_download_shows_the_first_screen_before_the_rest(
    server: Server, crm: httpx.Client
) -> None:
    with server.client("alice") as alice:
        own = create(alice, "account", name="Alice's")
    for n in range(30):
        create(crm, "account", name=f"Account {n}")
    upcoming = create(crm, "appointment", subject="Today", start=at(date.today()))
    create(crm, "appointment", subject="Last year", start=at(days(-365, date.today())))
    phone = server.device("phone", "alice")
    shown: dict[str, set[str]] = {}

    def progress(phase: str, done: int, downloaded: int = 0) -> None:
        if phase == "first_screen":  # stored: another reader of the store sees it
            other = Device(phone.directory)
            shown.update({entity: set(other.records(entity)) for entity in ENTITIES})
            other.close()

    report = phone.sync(progress)

    assert shown == {"account": {own}, "contact": set(), "appointment": {upcoming}}
    assert report.first_screen == 2
    for entity in ENTITIES:
        assert phone.records(entity) == live(crm, entity)
    assert phone.sync().pulled == 0
    phone.close()


def test_a_first_download_killed_after_the_first_screen_resumes_and_converges(
    server: Server, crm: httpx.Client
) -> None:
    with server.client("alice") as alice:
        own_contact = create(alice, "contact", lastname="Novak")
        own_account = create(alice, "account", name="Alice's")
    upcoming = [
        create(crm, "appointment", subject=f"Visit {n}", start=at(days(n, date.today())))
        for n in range(3)
    ]
    for n in range(20):
        create(crm, "account", name=f"Account {n}")
    phone = server.device("phone", "alice")
    phone.close()

    sync = subprocess.run(
        [sys.executable, "-m", "fieldsync", "device", "sync", "--dir", str(phone.directory)],
        env={**os.environ, VARIABLE: "device.pull.first_screen"},
        capture_output=True,
        timeout=120,
    )
    assert sync.returncode == -signal.SIGKILL, sync.stderr
    phone = Device(phone.directory)
    assert set(phone.records("appointment")) == set(upcoming)
    assert set(phone.records("account")) == {own_account}
    assert set(phone.records("contact")) == {own_contact}

    # Before the device comes back: a first-screen record deleted, one changed, and
    # contacts no longer synced (the ordinary download will not mention them at all).
    office_delete(crm, upcoming[0], "appointment")
    office_edit(crm, upcoming[1], "appointment", subject="Moved")
    set_entity(crm, "contact", sync_filter="none")
    phone.sync()

    assert phone.records("appointment") == live(crm, "appointment")
    assert phone.records("appointment")[upcoming[1]]["subject"] == "Moved"
    assert phone.records("account") == live(crm, "account")
    assert phone.records("contact") == {}
    assert phone.sync().pulled == 0
    phone.close()


def test_a_first_screen_record_edited_offline_after_a_cut_download_stays_on_the_device(
    server: Server, crm: httpx.Client
) -> None:
    visit = create(crm, "appointment", subject="Visit", start=at(date.today()))
    for n in range(20):
        create(crm, "account", name=f"Account {n}")
    phone = server.device("phone", "alice")
    phone.close()
    sync = subprocess.run(
        [sys.executable, "-m", "fieldsync", "device", "sync", "--dir", str(phone.directory)],
        env={**os.environ, VARIABLE: "device.pull.first_screen"},
        capture_output=True,
        timeout=120,
    )
    assert sync.returncode == -signal.SIGKILL, sync.stderr
    phone = Device(phone.directory)

    phone.update("appointment", visit, {"location": "Harbour office"})
    report = phone.sync()

    assert report.pushed == 1
    assert live(crm, "appointment")[visit]["location"] == "Harbour office"
    assert phone.records("appointment") == live(crm, "appointment")
    assert phone.records("account") == live(crm, "account")
    assert phone.sync().pulled == 0
    assert phone.records("appointment")[visit]["location"] == "Harbour office"
    phone.close()


@pytest.mark.usefixtures("others")
def test_an_admin_chooses_which_date_makes_a_record_upcoming(
    server: Server, crm: httpx.Client
) -> None:
    ended = create(crm, "appointment", subject="Ends tomorrow", start=at(days(-3)), end=at(days(1)))
    set_entity(crm, "appointment", upcoming_field="end")
    with server.client("alice") as alice:
        assert keys(first_screen(alice)) == [("appointment", ended)]
    refused = crm.put("/v1/admin/entities/appointment", json={"upcoming_field": "subject"})
    assert refused.status_code == 422, refused.text
    assert "must name one of its date or datetime fields" in refused.json()["error"]["message"]
    assert crm.get("/v1/admin/entities/appointment").json()["upcoming_field"] == "end"


@pytest.mark.usefixtures("others")
def test_an_admin_clears_the_upcoming_field_with_null(server: Server, crm: httpx.Client) -> None:
    create(crm, "appointment", subject="Tomorrow", start=at(days(1)))
    version = crm.get("/v1/project").json()["version"]

    cleared = crm.put("/v1/admin/entities/appointment", json={"upcoming_field": None})

    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["upcoming_field"] is None
    assert crm.get("/v1/admin/entities/appointment").json()["upcoming_field"] is None
    assert crm.get("/v1/project").json()["version"] == version + 1
    assert crm.put("/v1/admin/entities/appointment", json={"label": "Visit"}).status_code == 200
    assert crm.get("/v1/admin/entities/appointment").json()["upcoming_field"] is None
    with server.client("alice") as alice:
        assert keys(first_screen(alice)) == []
