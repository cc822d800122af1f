"""A sync filter changed (all, owned, none): every device converges to the new scope at its
next sync, without downloading everything again, whichever way the change was made."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect
from typer.testing import CliRunner

from conftest import Server
from fieldsync.cli.main import app
from fieldsync.device import Device
from fieldsync.server import tombstones
from helpers import office_delete, server_values, set_entity
from test_console import log_in

FILTERS = ("all", "owned", "none")
USERS = ("alice", "bob")


def account_of(crm: httpx.Client, owner: str, name: str) -> str:
    """An account the back office creates and gives to `owner`."""
    created = crm.post("/v1/entities/account/records", json={"name": name})
    assert created.status_code == 201, created.text
    record_id = str(created.json()["id"])
    if owner != "admin":
        given = crm.post(f"/v1/entities/account/records/{record_id}/assign", json={"owner": owner})
        assert given.status_code == 200, given.text
    return record_id


def accounts(crm: httpx.Client) -> dict[str, str]:
    """One account each for alice and bob and one for the back office: id → owner."""
    owners = ("alice", "alice", "bob", "admin")
    return {account_of(crm, owner, f"{owner} {i}"): owner for i, owner in enumerate(owners)}


def in_scope(owners: dict[str, str], sync_filter: str, user: str) -> set[str]:
    """The accounts `user`'s devices must hold under `sync_filter`."""
    if sync_filter == "all":
        return set(owners)
    return {i for i, owner in owners.items() if sync_filter == "owned" and owner == user}


def assert_holds(device: Device, crm: httpx.Client, expected: set[str]) -> None:
    held = device.records("account")
    assert set(held) == expected
    for record_id in expected:
        assert held[record_id] == server_values(crm, record_id)


@pytest.mark.parametrize(("old", "new"), list(itertools.permutations(FILTERS, 2)))
def test_a_filter_change_reaches_devices_that_synced_before_it(
    server: Server, crm: httpx.Client, old: str, new: str
) -> None:
    set_entity(crm, "account", sync_filter=old)
    owners = accounts(crm)
    devices = {user: server.device(f"{user}-phone", user) for user in USERS}
    for user, device in devices.items():
        device.sync()
        assert_holds(device, crm, in_scope(owners, old, user))
    set_entity(crm, "account", sync_filter=new)
    for user, device in devices.items():
        report = device.sync()
        assert not report.resynced  # only the difference came, not everything again
        assert_holds(device, crm, in_scope(owners, new, user))


def test_records_changed_and_reassigned_around_the_change_converge_too(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", sync_filter="owned")
    owners = accounts(crm)
    phone = server.device("phone", "alice")
    phone.sync()
    given_away, kept = [i for i, owner in owners.items() if owner == "alice"]
    crm.post(f"/v1/entities/account/records/{given_away}/assign", json={"owner": "bob"})
    crm.patch(f"/v1/entities/account/records/{kept}", json={"city": "Kosice"})
    set_entity(crm, "account", sync_filter="none")  # alice lost one before the change
    phone.sync()
    assert phone.records("account") == {}
    set_entity(crm, "account", sync_filter="all")
    office_delete(crm, kept)
    phone.sync()
    assert_holds(phone, crm, set(owners) - {kept})


def test_a_device_that_syncs_between_two_filter_changes_converges(
    server: Server, crm: httpx.Client
) -> None:
    owners = accounts(crm)
    tablet = server.device("tablet", "bob")
    own = tablet.create("account", {"name": "Bob's own"})  # its own write, pushed from here
    owners[own] = "bob"
    tablet.sync()
    set_entity(crm, "account", sync_filter="none")
    tablet.sync()
    assert tablet.records("account") == {}
    set_entity(crm, "account", sync_filter="owned")
    set_entity(crm, "account", sync_filter="all")  # two changes before the next sync
    tablet.sync()
    assert_holds(tablet, crm, set(owners))
    set_entity(crm, "account", sync_filter="owned")
    tablet.sync()
    assert_holds(tablet, crm, in_scope(owners, "owned", "bob"))


def test_a_difference_larger_than_a_page_comes_in_pages(server: Server, crm: httpx.Client) -> None:
    phone, tablet = server.device("phone", "alice"), server.device("tablet", "bob")
    made = {phone.create("account", {"name": f"Account {i}"}) for i in range(2600)}
    phone.sync()
    tablet.sync()
    assert len(tablet.records("account")) == 2600
    set_entity(crm, "account", sync_filter="owned")
    report = tablet.sync()  # a device asks for 2,500 changes a page
    assert (report.pulled, report.resynced) == (2600, False)
    assert tablet.records("account") == {}
    set_entity(crm, "account", sync_filter="all")
    tablet.sync()
    assert set(tablet.records("account")) == made


def pull_all(client: httpx.Client, cursor: str, limit: int) -> tuple[list[dict[str, Any]], str]:
    """Every page from `cursor` on, `limit` changes a page: the changes and the last cursor."""
    changes: list[dict[str, Any]] = []
    while True:
        answer = client.get("/v1/sync/pull", params={"cursor": cursor, "limit": limit})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["changes"]) <= limit
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            return changes, cursor


def test_the_cursor_keeps_its_place_in_a_difference_and_drops_it_when_done(
    server: Server, crm: httpx.Client
) -> None:
    owners = {account_of(crm, "admin", f"Office {i}"): "admin" for i in range(5)}
    with server.client("bob") as bob:
        held, cursor = pull_all(bob, "", 1000)
        assert {c["id"] for c in held} == set(owners)
        set_entity(crm, "account", sync_filter="owned")
        first = bob.get("/v1/sync/pull", params={"cursor": cursor, "limit": 2}).json()
        assert first["more"]
        assert first["cursor"].count(".") == 4  # EPOCH.VERSION.SCOPE.TARGET.AFTER
        rest, done = pull_all(bob, first["cursor"], 2)
        gone = first["changes"] + rest
        assert sorted(c["id"] for c in gone) == sorted(owners)
        assert all(c["deleted"] and c["record"] is None for c in gone)
        assert done.count(".") == 1  # EPOCH.VERSION again
        assert pull_all(bob, done, 2)[0] == []


def test_a_filter_changed_again_in_the_middle_of_a_difference_asks_for_a_full_download(
    server: Server, crm: httpx.Client
) -> None:
    for i in range(3):
        account_of(crm, "admin", f"Office {i}")
    with server.client("bob") as bob:
        cursor = pull_all(bob, "", 1000)[1]
        set_entity(crm, "account", sync_filter="owned")
        first = bob.get("/v1/sync/pull", params={"cursor": cursor, "limit": 1}).json()
        set_entity(crm, "account", sync_filter="all")
        answer = bob.get("/v1/sync/pull", params={"cursor": first["cursor"], "limit": 1})
        assert answer.status_code == 410
        assert answer.json()["error"]["code"] == "resync_required"


@pytest.mark.parametrize(
    "cursor", ["00000000.5.3", "00000000.5.7.7.0", "00000000.5.6.", "00000000.5.1.2.3.4"]
)
def test_a_cursor_that_no_pull_returned_is_refused(server: Server, cursor: str) -> None:
    with server.client("bob") as bob:
        epoch = pull_all(bob, "", 1000)[1].split(".")[0]
        answer = bob.get("/v1/sync/pull", params={"cursor": cursor.replace("00000000", epoch)})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_cursor"


def test_an_unsynced_edit_of_a_record_that_left_the_scope_is_refused_and_can_be_discarded(
    server: Server, crm: httpx.Client
) -> None:
    theirs = account_of(crm, "alice", "Alice's")
    tablet = server.device("tablet", "bob")
    tablet.sync()
    tablet.update("account", theirs, {"city": "Kosice"})
    set_entity(crm, "account", sync_filter="owned")
    tablet.sync()
    [error] = tablet.errors()
    assert error["code"] == "no_permission"
    assert server_values(crm, theirs)["city"] is None
    tablet.discard("account", theirs)
    tablet.sync()
    assert tablet.records("account") == {}


def test_a_filter_change_then_a_vacuum_still_converges(server: Server, crm: httpx.Client) -> None:
    owners = accounts(crm)
    office_delete(crm, account_of(crm, "admin", "Doomed"))
    with server.db.write() as conn:  # what `fieldsync db vacuum` does
        tombstones.vacuum(conn, timedelta(0))
    phone, tablet = server.device("phone", "alice"), server.device("tablet", "bob")
    phone.sync()
    tablet.sync()
    set_entity(crm, "account", sync_filter="owned")
    report = phone.sync()
    assert not report.resynced  # the vacuum kept the change newer than what it purged
    assert_holds(phone, crm, in_scope(owners, "owned", "alice"))
    office_delete(crm, account_of(crm, "admin", "Doomed too"))
    with server.db.write() as conn:
        tombstones.vacuum(conn, timedelta(0))  # purges the scope change too
    assert tablet.sync().resynced  # its cursor is older than the horizon
    assert_holds(tablet, crm, in_scope(owners, "owned", "bob"))


runner = CliRunner()


def test_a_filter_changed_by_project_import_reaches_the_devices(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    owners = accounts(crm)
    devices = {user: server.device(f"{user}-phone", user) for user in USERS}
    for device in devices.values():
        device.sync()
    exported = tmp_path / "project.yaml"
    for sync_filter in ("owned", "all", "none"):
        project = crm.get("/v1/project").json()
        project["entities"][0]["sync_filter"] = sync_filter
        exported.write_text(yaml.safe_dump(project))
        imported = runner.invoke(app, ["project", "import", str(exported), "--db", server.db.url])
        assert imported.exit_code == 0, imported.output
        for user, device in devices.items():
            assert not device.sync().resynced
            assert_holds(device, crm, in_scope(owners, sync_filter, user))


def test_a_filter_changed_by_project_set_reaches_the_devices(
    server: Server, crm: httpx.Client
) -> None:
    owners = accounts(crm)
    tablet = server.device("tablet", "bob")
    tablet.sync()
    changed = runner.invoke(
        app, ["project", "set", "account", "--sync-filter", "owned", "--db", server.db.url]
    )
    assert changed.exit_code == 0, changed.output
    tablet.sync()
    assert_holds(tablet, crm, in_scope(owners, "owned", "bob"))


def test_a_filter_changed_in_the_console_reaches_the_devices(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", sync_filter="owned")
    owners = accounts(crm)
    phone = server.device("phone", "alice")
    phone.sync()
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/entities")
    page.get_by_label("Sync filter of account").select_option("all")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    phone.sync()
    assert_holds(phone, crm, set(owners))


def test_a_filter_changed_through_one_process_reaches_devices_of_another(
    two_processes: list[str], tmp_path: Path
) -> None:
    office_url, device_url = two_processes
    login = {"username": "admin", "password": "secret"}
    token = httpx.post(f"{office_url}/v1/auth/login", json=login).json()["token"]
    with httpx.Client(base_url=office_url, headers={"Authorization": f"Bearer {token}"}) as crm:
        owners = accounts(crm)
        devices = {u: Device.login(tmp_path / u, device_url, u, "secret") for u in USERS}
        for device in devices.values():
            device.sync()  # the project as the device process parsed it
        for sync_filter in ("owned", "all", "none", "all"):
            set_entity(crm, "account", sync_filter=sync_filter)
            for user, device in devices.items():
                assert not device.sync().resynced
                assert_holds(device, crm, in_scope(owners, sync_filter, user))


def test_discarding_an_edit_refused_while_its_record_was_out_of_scope_takes_it_back(
    server: Server, crm: httpx.Client
) -> None:
    created = crm.post("/v1/entities/appointment/records", json={"subject": "Visit"})
    record_id = created.json()["id"]
    phone = server.device("phone", "alice")
    phone.sync()
    phone.update("appointment", record_id, {"location": "typed"})
    set_entity(crm, "appointment", sync_filter="owned")  # the office's record leaves
    phone.sync()
    set_entity(crm, "appointment", sync_filter="all")  # and comes back, at the same version
    phone.sync()
    [refused] = phone.errors()
    assert refused["code"] == "no_permission"
    phone.discard("appointment", record_id)
    phone.sync()
    assert phone.get("appointment", record_id) == server_values(crm, record_id, "appointment")


def test_the_first_page_of_a_download_says_how_many_changes_the_whole_download_brings(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", sync_filter="owned")
    owners = accounts(crm)  # two of alice's, one of bob's, one of the office's
    mine = [i for i, owner in owners.items() if owner == "alice"]
    office_delete(crm, mine[0])  # reaches alice as a deletion
    given = crm.post(f"/v1/entities/account/records/{mine[1]}/assign", json={"owner": "bob"})
    assert given.status_code == 200, given.text  # left her scope: a deletion too
    contact = crm.post("/v1/entities/contact/records", json={"lastname": "Novak"})
    assert contact.status_code == 201, contact.text
    with server.client("alice") as alice:
        first = alice.get("/v1/sync/pull", params={"count": "true", "limit": 1}).json()
        changes, _ = pull_all(alice, "", 1)
        per_entity = Counter(c["entity"] for c in changes)
        assert first["totals"] == per_entity
        assert first["total"] == len(changes)
        assert (per_entity["account"], per_entity["contact"]) == (2, 1)  # her two, as deletions
        # Only the first page of a download, and only when asked: older devices never see it.
        later = alice.get("/v1/sync/pull", params={"count": "true", "cursor": first["cursor"]})
        plain = alice.get("/v1/sync/pull").json()
        assert "total" not in later.json()
        assert "total" not in plain
