"""Every cell of the policy tables over real HTTP: a phone, the back office, one sync."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from conftest import Server
from fieldsync.device import Device
from fieldsync.server.bulk import json_value
from fieldsync.server.schema import journal as journal_table
from helpers import (
    UPDATE_UPDATE,
    full,
    journal,
    office_delete,
    office_edit,
    server_values,
    set_entity,
    synced_account,
)


def start(
    server: Server, crm: httpx.Client, policy: str, detection: str = "record"
) -> tuple[Device, str]:
    set_entity(crm, "account", on_conflict=policy, conflict_detection=detection)
    phone = server.device("phone", "alice")
    return phone, synced_account(phone, phone="100")


def user_action_conflict(server: Server, crm: httpx.Client) -> tuple[Device, str, dict[str, Any]]:
    """A User Action conflict open on the phone: it changed the city, so did the office."""
    phone, record_id = start(server, crm, "user_action")
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    assert phone.sync().conflicts == 1
    [conflict] = phone.errors()
    return phone, record_id, conflict


@pytest.mark.parametrize(("policy", "outcome", "expected"), UPDATE_UPDATE)
def test_update_update(
    server: Server, crm: httpx.Client, policy: str, outcome: str, expected: dict[str, Any]
) -> None:
    phone, record_id = start(server, crm, policy)
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina", phone="200")
    phone.sync()
    assert server_values(crm, record_id) == expected
    assert phone.get("account", record_id) == expected
    [entry] = journal(crm)
    assert entry["outcome"] == outcome
    assert entry["base"] == full()  # every record of the conflict, whole
    assert entry["device"] == full(city="Kosice")
    assert entry["server"] == full(city="Zilina", phone="200")
    assert entry["result"] == expected  # the whole record as the resolution left it


def test_the_journal_keeps_the_base_a_device_had_before_a_field_was_added(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id = start(server, crm, "partial_device_wins")
    add_website(crm)
    office_edit(crm, record_id, city="Zilina", website="https://acme.example")
    phone.update("account", record_id, {"city": "Kosice"})  # its base has no website yet
    phone.sync()
    [entry] = journal(crm)
    assert entry["base"] == full()
    assert entry["server"] == {**full(city="Zilina"), "website": "https://acme.example"}
    assert entry["result"] == {**full(city="Kosice"), "website": "https://acme.example"}
    assert phone.get("account", record_id) == entry["result"]
    # D has the office's value of the field the phone never had (see the test below).
    assert entry["device"] == {**full(city="Kosice"), "website": "https://acme.example"}
    with server.db.read() as conn:  # stored whole, as an admin reads them with SQL
        stored = conn.execute(sa.select(journal_table.c.base, journal_table.c.device)).one()
    assert [json_value(side) for side in stored] == [entry["base"], entry["device"]]


def add_website(crm: httpx.Client) -> None:
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    set_entity(crm, "account", fields=[*fields, {"name": "website", "type": "string"}])


@pytest.mark.parametrize("policy", ["full_device_wins", "user_action"])
@pytest.mark.parametrize("knows_field", [False, True], ids=["old project", "new project"])
def test_the_device_version_keeps_the_office_value_of_a_field_the_device_never_had(
    server: Server, crm: httpx.Client, policy: str, knows_field: bool
) -> None:
    """The admin adds a field and the office fills it in; the phone, whose copy of the
    record predates the field, edits the record. Its version wins (Full Device Wins, or
    the user's "use device version"): the office's value of the new field stays."""
    phone, record_id = start(server, crm, policy)
    add_website(crm)
    if knows_field:
        phone.sync()  # the phone's project has the field; its copy of the record does not
    office_edit(crm, record_id, city="Zilina", website="https://acme.example")
    phone.update("account", record_id, {"city": "Kosice"})
    phone.sync()
    if policy == "user_action":
        [conflict] = phone.errors()
        phone.resolve(conflict["id"], "device")
        phone.sync()
    expected = {**full(city="Kosice"), "website": "https://acme.example"}
    assert server_values(crm, record_id) == expected
    assert phone.get("account", record_id) == expected
    assert journal(crm)[0]["result"] == expected


def test_a_device_can_fill_in_a_field_it_never_had(server: Server, crm: httpx.Client) -> None:
    phone, record_id = start(server, crm, "full_device_wins")
    add_website(crm)
    phone.sync()
    office_edit(crm, record_id, city="Zilina", website="https://acme.example")
    phone.update("account", record_id, {"website": "https://acme.sk"})
    phone.sync()
    expected = {**full(), "website": "https://acme.sk"}
    assert server_values(crm, record_id) == expected
    assert phone.get("account", record_id) == expected


UPDATE_DELETE = [  # device updated, server deleted
    ("server_wins", "server_wins", None),
    ("partial_device_wins", "merged", full(city="Kosice")),
    ("full_device_wins", "device_wins", full(city="Kosice")),
]


@pytest.mark.parametrize(("policy", "outcome", "expected"), UPDATE_DELETE)
def test_device_update_server_delete(
    server: Server, crm: httpx.Client, policy: str, outcome: str, expected: Any
) -> None:
    phone, record_id = start(server, crm, policy)
    phone.update("account", record_id, {"city": "Kosice"})
    office_delete(crm, record_id)
    phone.sync()
    assert server_values(crm, record_id) == expected
    assert phone.get("account", record_id) == expected
    [entry] = journal(crm)
    assert (entry["kind"], entry["outcome"]) == ("update_delete", outcome)
    assert entry["device"]["city"] == "Kosice"  # the device's values are journaled
    assert entry["result"] == expected


DELETE_UPDATE = [  # device deleted, server updated
    ("server_wins", "server_wins", full(city="Zilina")),
    ("partial_device_wins", "device_wins", None),
    ("full_device_wins", "device_wins", None),
]


@pytest.mark.parametrize(("policy", "outcome", "expected"), DELETE_UPDATE)
def test_device_delete_server_update(
    server: Server, crm: httpx.Client, policy: str, outcome: str, expected: Any
) -> None:
    phone, record_id = start(server, crm, policy)
    phone.delete("account", record_id)
    office_edit(crm, record_id, city="Zilina")
    phone.sync()
    assert server_values(crm, record_id) == expected
    assert phone.get("account", record_id) == expected
    [entry] = journal(crm)
    assert (entry["kind"], entry["outcome"]) == ("delete_update", outcome)
    assert entry["server"]["city"] == "Zilina"  # the server's values are journaled
    assert entry["result"] == expected


@pytest.mark.parametrize(
    "policy", ["server_wins", "partial_device_wins", "full_device_wins", "user_action"]
)
def test_both_deleted_is_no_conflict(server: Server, crm: httpx.Client, policy: str) -> None:
    phone, record_id = start(server, crm, policy)
    phone.delete("account", record_id)
    office_delete(crm, record_id)
    report = phone.sync()
    assert report.applied == 1
    assert phone.get("account", record_id) is None
    assert journal(crm) == []


USER_ACTION = [
    # (device deletes?, server deletes?, choice, server after)
    (False, False, "device", full(city="Kosice")),
    (False, False, "server", full(city="Zilina", phone="200")),
    (False, True, "device", full(city="Kosice")),  # restore my version
    (False, True, "server", None),  # accept delete
    (True, False, "device", None),  # delete anyway
    (True, False, "server", full(city="Zilina", phone="200")),  # keep server version
]


@pytest.mark.parametrize(("device_deletes", "server_deletes", "choice", "expected"), USER_ACTION)
def test_user_action_holds_the_change_until_the_user_decides(
    server: Server,
    crm: httpx.Client,
    device_deletes: bool,
    server_deletes: bool,
    choice: str,
    expected: Any,
) -> None:
    phone, record_id = start(server, crm, "user_action")
    if device_deletes:
        phone.delete("account", record_id)
    else:
        phone.update("account", record_id, {"city": "Kosice"})
    if server_deletes:
        office_delete(crm, record_id)
    else:
        office_edit(crm, record_id, city="Zilina", phone="200")
    server_before = server_values(crm, record_id)
    device_before = phone.get("account", record_id)
    assert phone.sync().conflicts == 1
    assert server_values(crm, record_id) == server_before  # S unchanged
    assert phone.get("account", record_id) == device_before  # D kept
    [error] = phone.errors()
    assert journal(crm, status="open")[0]["id"] == error["id"]
    phone.resolve(error["id"], choice)
    phone.sync()
    assert server_values(crm, record_id) == expected
    assert phone.get("account", record_id) == expected
    assert phone.errors() == []
    [entry] = journal(crm)
    assert entry["status"] == "resolved"


def test_user_action_merge_picks_per_field(server: Server, crm: httpx.Client) -> None:
    phone, record_id = start(server, crm, "user_action")
    phone.update("account", record_id, {"city": "Kosice", "phone": "300"})
    office_edit(crm, record_id, city="Zilina", phone="200")
    phone.sync()
    [error] = phone.errors()
    assert error["fields"] == ["city", "phone"]
    phone.resolve(error["id"], "merge", {"city": "device", "phone": "server"})
    phone.sync()
    assert server_values(crm, record_id) == full(city="Kosice", phone="200")
    assert phone.get("account", record_id) == full(city="Kosice", phone="200")
    assert journal(crm)[0]["outcome"] == "merged"


def test_a_merge_is_made_of_the_device_version_as_the_user_left_it(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, _ = user_action_conflict(server, crm)
    # Edited again while the conflict is open: Sync errors shows the record as it is now.
    phone.update("account", record_id, {"phone": "300", "email": "field@acme.example"})
    [error] = phone.errors()
    assert error["device"] == phone.get("account", record_id)
    assert error["fields"] == ["city", "email", "phone"]
    phone.resolve(error["id"], "merge", {"city": "device", "phone": "device"})
    phone.sync()
    # The email, left unpicked, changed on the device alone: the merge takes it from there.
    merged = full(city="Kosice", phone="300", email="field@acme.example")
    assert server_values(crm, record_id) == merged
    assert phone.get("account", record_id) == merged
    [entry] = journal(crm)
    assert (entry["outcome"], entry["result"]) == ("merged", merged)


def test_a_record_deleted_after_choosing_merge_is_refused_until_the_user_decides_again(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, conflict = user_action_conflict(server, crm)
    phone.resolve(conflict["id"], "merge", {"city": "device"})
    phone.delete("account", record_id)  # nothing is left to merge
    assert phone.sync().rejected == 1
    rejected = next(e for e in phone.errors() if e["type"] == "rejected")
    assert rejected["code"] == "cannot_merge"
    assert server_values(crm, record_id) == full(city="Zilina")
    assert journal(crm)[0]["status"] == "open"
    phone.resolve(conflict["id"], "device")  # delete anyway
    phone.retry("account", record_id)
    phone.sync()
    assert server_values(crm, record_id) is None
    assert phone.get("account", record_id) is None
    assert phone.errors() == []


def test_a_merge_that_meets_a_newer_server_change_keeps_the_device_version(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, first = user_action_conflict(server, crm)
    phone.update("account", record_id, {"phone": "300"})
    phone.resolve(first["id"], "merge", {"phone": "device"})
    office_edit(crm, record_id, city="Nitra")  # the server moves on before the next sync
    assert phone.sync().conflicts == 1
    # The merge was made with a server version that is gone: the user decides again,
    # on the device's own version, not on its merge with the old one.
    [second] = phone.errors()
    assert second["device"] == full(city="Kosice", phone="300")
    assert second["server"] == full(city="Nitra")
    assert journal(crm, status="open")[0]["device"] == full(city="Kosice", phone="300")


def test_use_server_version_that_meets_a_newer_server_change_journals_later_edits(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, error = user_action_conflict(server, crm)
    phone.update("account", record_id, {"phone": "300"})  # while the conflict is open
    phone.resolve(error["id"], "server")
    office_edit(crm, record_id, city="Nitra")
    phone.sync()
    assert phone.get("account", record_id) == full(city="Nitra")
    [entry] = journal(crm)
    assert entry["status"] == "superseded"
    assert entry["device"] == full(city="Kosice", phone="300")  # the dropped edit is kept


def test_a_choice_that_meets_a_newer_server_change_is_a_new_conflict(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, first = user_action_conflict(server, crm)
    phone.resolve(first["id"], "device")
    office_edit(crm, record_id, city="Nitra")  # the server moves on before the next sync
    assert phone.sync().conflicts == 1
    [second] = phone.errors()
    assert second["id"] != first["id"]
    assert second["server"]["city"] == "Nitra"
    assert server_values(crm, record_id)["city"] == "Nitra"
    statuses = {e["id"]: e["status"] for e in journal(crm)}
    assert statuses == {first["id"]: "superseded", second["id"]: "open"}


@pytest.mark.parametrize(
    "policy", ["server_wins", "partial_device_wins", "full_device_wins", "user_action"]
)
def test_field_detection_merges_disjoint_edits_under_every_policy(
    server: Server, crm: httpx.Client, policy: str
) -> None:
    phone, record_id = start(server, crm, policy, detection="field")
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, phone="200")
    assert phone.sync().merged == 1
    assert server_values(crm, record_id) == full(city="Kosice", phone="200")
    assert phone.get("account", record_id) == full(city="Kosice", phone="200")
    assert journal(crm) == []


def test_field_detection_server_wins_only_on_the_overlapping_field(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id = start(server, crm, "server_wins", detection="field")
    phone.update("account", record_id, {"city": "Kosice", "zip": "040"})
    office_edit(crm, record_id, city="Zilina", phone="200")
    assert phone.sync().server_wins == 1
    expected = full(city="Zilina", phone="200", zip="040")
    assert server_values(crm, record_id) == expected
    assert phone.get("account", record_id) == expected
    assert journal(crm)[0]["fields"] == ["city"]


def test_second_device_converges_after_a_conflict(server: Server, crm: httpx.Client) -> None:
    phone, record_id = start(server, crm, "partial_device_wins")
    tablet = server.device("tablet", "bob")
    tablet.sync()
    phone.update("account", record_id, {"city": "Kosice"})
    tablet.update("account", record_id, {"phone": "999"})
    tablet.sync()
    phone.sync()
    tablet.sync()
    assert phone.get("account", record_id) == tablet.get("account", record_id)
    assert tablet.get("account", record_id) == server_values(crm, record_id)
    assert server_values(crm, record_id) == full(city="Kosice", phone="999")
