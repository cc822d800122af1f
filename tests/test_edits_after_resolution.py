"""A phone's edit made after an admin resolved its conflict meets the office's later edit.

The phone learns of the resolution at its next sync. What it typed since is based on
the record as the resolution left it, so an office edit made after the resolution is
met by the entity's policy (docs/design.md, invariants 2 and 3), not overwritten.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Server
from fieldsync.device import Device
from helpers import (
    journal,
    office_edit,
    server_record,
    server_values,
    set_entity,
    synced_account,
)

RESOLUTIONS = [
    {"use": "server"},
    {"use": "device"},
    {"use": "merge", "fields": {"city": "device"}},
]


def resolved_remotely(
    server: Server, crm: httpx.Client, resolution: dict[str, Any]
) -> tuple[Device, str, dict[str, Any]]:
    """A phone whose User Action conflict (city: Kosice here, Zilina there) an admin
    resolved: the phone, the account's id, and the record as the resolution left it."""
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100")
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    assert phone.sync().conflicts == 1
    [entry] = journal(crm, status="open")
    answer = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json=resolution)
    assert answer.status_code == 200, answer.text
    return phone, record_id, server_values(crm, record_id)


def then_both_edit_the_phone_field(phone: Device, crm: httpx.Client, record_id: str) -> None:
    """The phone (offline) types 300 into the phone field; the office then types 555."""
    phone.update("account", record_id, {"phone": "300"})
    office_edit(crm, record_id, phone="555")


@pytest.mark.parametrize("resolution", RESOLUTIONS, ids=lambda r: r["use"])
def test_under_user_action_the_office_edit_stands_and_the_phones_edit_is_a_new_conflict(
    server: Server, crm: httpx.Client, resolution: dict[str, Any]
) -> None:
    phone, record_id, resolved = resolved_remotely(server, crm, resolution)
    then_both_edit_the_phone_field(phone, crm, record_id)

    report = phone.sync()

    assert report.resolved_remotely == 1
    office = {**resolved, "phone": "555"}
    assert server_values(crm, record_id) == office
    [conflict] = phone.errors()
    assert conflict["device"] == {**resolved, "phone": "300"}
    assert conflict["server"] == office
    [entry] = journal(crm, status="open")
    assert (entry["id"], entry["base"], entry["device"]) == (
        conflict["id"],
        resolved,
        {**resolved, "phone": "300"},
    )
    phone.resolve(conflict["id"], "device")  # Use my version: the worker decides
    phone.sync()
    assert server_values(crm, record_id) == phone.get("account", record_id)
    assert server_values(crm, record_id)["phone"] == "300"


@pytest.mark.parametrize(
    ("policy", "outcome", "phone_field"),
    [("server_wins", "server_wins", "555"), ("partial_device_wins", "merged", "300")],
)
def test_under_other_policies_the_policy_decides_and_the_journal_keeps_the_loser(
    server: Server, crm: httpx.Client, policy: str, outcome: str, phone_field: str
) -> None:
    phone, record_id, resolved = resolved_remotely(server, crm, {"use": "server"})
    set_entity(crm, "account", on_conflict=policy)
    then_both_edit_the_phone_field(phone, crm, record_id)

    phone.sync()

    expected = {**resolved, "phone": phone_field}
    assert server_values(crm, record_id) == expected
    assert phone.get("account", record_id) == expected
    assert phone.errors() == []
    [entry] = journal(crm, policy=policy)
    assert entry["outcome"] == outcome
    assert entry["base"] == resolved
    assert entry["device"]["phone"] == "300"  # what the phone typed…
    assert entry["server"]["phone"] == "555"  # …and what the office typed, both kept
    assert entry["result"] == expected


def test_with_no_edit_after_the_resolution_the_phone_takes_the_office_edit(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, _ = resolved_remotely(server, crm, {"use": "device"})
    office_edit(crm, record_id, phone="555")

    assert phone.sync().resolved_remotely == 1

    assert phone.errors() == []
    assert phone.get("account", record_id) == server_values(crm, record_id)
    assert server_values(crm, record_id)["phone"] == "555"
    assert phone.unsynced() == 0
    assert len(journal(crm)) == 1  # the resolved conflict alone


def test_an_edit_made_while_the_conflict_was_open_goes_through_when_the_office_did_not_edit(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, resolved = resolved_remotely(server, crm, {"use": "server"})
    phone.update("account", record_id, {"phone": "300"})

    phone.sync()

    assert server_values(crm, record_id) == {**resolved, "phone": "300"}
    assert phone.get("account", record_id) == server_values(crm, record_id)
    assert phone.errors() == []
    assert len(journal(crm)) == 1


def test_a_delete_made_after_the_resolution_meets_the_office_edit_made_after_it(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, resolved = resolved_remotely(server, crm, {"use": "server"})
    phone.delete("account", record_id)
    office_edit(crm, record_id, phone="555")

    phone.sync()

    assert server_values(crm, record_id) == {**resolved, "phone": "555"}  # not deleted unseen
    [conflict] = phone.errors()
    assert (conflict["kind"], conflict["device"]) == ("delete_update", None)
    assert conflict["server"] == {**resolved, "phone": "555"}


def superseded_with_nothing_left_to_decide(
    server: Server, crm: httpx.Client
) -> tuple[Device, str, dict[str, Any], dict[str, Any]]:
    """A phone whose User Action conflict (field detection; city: Kosice here, Zilina
    there) the office settled itself before the admin's choice came (it typed Kosice
    too): the choice is refused as stale, and meeting the phone's version again leaves
    nothing to decide, so the server writes the merge (the phone's email with it). The
    phone, the account's id, the superseded entry (as it was open) and the record as
    the merge left it."""
    set_entity(crm, "account", on_conflict="user_action", conflict_detection="field")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100", email="old@acme.example")
    phone.update("account", record_id, {"city": "Kosice", "email": "new@acme.example"})
    office_edit(crm, record_id, city="Zilina")
    assert phone.sync().conflicts == 1
    [entry] = journal(crm, status="open")
    office_edit(crm, record_id, city="Kosice")
    answer = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "server"})
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["details"]["conflict_id"]) == ("conflict_superseded", None)
    merged = server_values(crm, record_id)
    assert (merged["city"], merged["email"]) == ("Kosice", "new@acme.example")
    return phone, record_id, entry, merged


def test_an_edit_made_while_a_conflict_was_superseded_and_settled_meets_the_office_edit(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, _, merged = superseded_with_nothing_left_to_decide(server, crm)
    then_both_edit_the_phone_field(phone, crm, record_id)

    report = phone.sync()

    assert report.resolved_remotely == 1
    office = {**merged, "phone": "555"}
    assert server_values(crm, record_id) == office  # not overwritten unseen
    [conflict] = phone.errors()
    assert (conflict["device"], conflict["server"]) == ({**merged, "phone": "300"}, office)
    [entry] = journal(crm, status="open")
    assert (entry["id"], entry["base"], entry["fields"]) == (conflict["id"], merged, ["phone"])
    phone.resolve(conflict["id"], "device")  # Use my version: the worker decides
    phone.sync()
    assert server_values(crm, record_id) == {**merged, "phone": "300"}
    assert phone.get("account", record_id) == server_values(crm, record_id)


def test_a_superseded_and_settled_conflict_keeps_what_the_server_wrote_and_its_restore(
    server: Server, crm: httpx.Client
) -> None:
    _, record_id, entry, merged = superseded_with_nothing_left_to_decide(server, crm)

    superseded = crm.get(f"/v1/admin/conflicts/{entry['id']}").json()

    assert (superseded["status"], superseded["outcome"]) == ("superseded", "superseded")
    assert superseded["server"] == entry["server"]
    assert superseded["result"] == merged  # what meeting the phone's version again wrote
    assert superseded["result_version"] == server_record(crm, record_id)["version"]
    assert journal(crm, status="open") == []  # no conflict took its place
    # Restore offers S as the conflict met it, every field of it, as for any superseded entry.
    restored = crm.post(
        f"/v1/admin/journal/{entry['id']}/restore", json={"fields": sorted(entry["server"])}
    )
    assert restored.status_code == 200, restored.text
    assert server_values(crm, record_id) == entry["server"]


def superseded_then_resolved_in_its_place(
    server: Server, crm: httpx.Client
) -> tuple[Device, str, dict[str, Any]]:
    """A phone whose User Action conflict A (city: Kosice here, Zilina there) met an
    admin's choice after the office edited the record again (Presov): the choice is
    refused as stale, A is superseded by B (the phone's version meeting Presov), and the
    admin resolves B before the phone syncs. The phone, the account's id, and the record
    as B's resolution left it."""
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100")
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    assert phone.sync().conflicts == 1
    [first] = journal(crm, status="open")
    office_edit(crm, record_id, city="Presov")
    stale = crm.post(f"/v1/admin/conflicts/{first['id']}/resolve", json={"use": "server"})
    assert stale.status_code == 409, stale.text
    in_its_place = stale.json()["error"]["details"]["conflict_id"]
    assert in_its_place not in (None, first["id"])
    answer = crm.post(f"/v1/admin/conflicts/{in_its_place}/resolve", json={"use": "server"})
    assert answer.status_code == 200, answer.text
    resolved = server_values(crm, record_id)
    assert resolved["city"] == "Presov"
    return phone, record_id, resolved


def test_an_edit_typed_while_a_superseded_conflicts_successor_was_resolved_meets_the_office(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, resolved = superseded_then_resolved_in_its_place(server, crm)
    then_both_edit_the_phone_field(phone, crm, record_id)

    report = phone.sync()

    assert report.resolved_remotely == 1
    office = {**resolved, "phone": "555"}
    assert server_values(crm, record_id) == office  # not overwritten unseen
    [conflict] = phone.errors()
    assert (conflict["device"], conflict["server"]) == ({**resolved, "phone": "300"}, office)
    [entry] = journal(crm, status="open")
    assert (entry["id"], entry["base"]) == (conflict["id"], resolved)
    phone.resolve(conflict["id"], "device")  # Use my version: the worker decides
    phone.sync()
    assert server_values(crm, record_id) == {**resolved, "phone": "300"}
    assert phone.get("account", record_id) == server_values(crm, record_id)


def test_with_no_edit_after_a_successors_resolution_the_phone_takes_the_office_edit(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id, _ = superseded_then_resolved_in_its_place(server, crm)
    office_edit(crm, record_id, phone="555")

    assert phone.sync().resolved_remotely == 1

    assert phone.errors() == []
    assert phone.get("account", record_id) == server_values(crm, record_id)
    assert server_values(crm, record_id)["phone"] == "555"
    assert phone.unsynced() == 0


def test_a_chain_of_superseded_conflicts_ends_in_the_resolution_of_the_last(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100")
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    assert phone.sync().conflicts == 1
    [entry] = journal(crm, status="open")
    conflict_id = entry["id"]
    for city in ("Presov", "Nitra"):  # each choice comes after another office edit
        office_edit(crm, record_id, city=city)
        stale = crm.post(f"/v1/admin/conflicts/{conflict_id}/resolve", json={"use": "server"})
        assert stale.status_code == 409, stale.text
        conflict_id = stale.json()["error"]["details"]["conflict_id"]
    answer = crm.post(f"/v1/admin/conflicts/{conflict_id}/resolve", json={"use": "server"})
    assert answer.status_code == 200, answer.text
    resolved = server_values(crm, record_id)
    then_both_edit_the_phone_field(phone, crm, record_id)

    assert phone.sync().resolved_remotely == 1

    office = {**resolved, "city": "Nitra", "phone": "555"}
    assert server_values(crm, record_id) == office
    [conflict] = phone.errors()
    assert (conflict["device"], conflict["server"]) == ({**resolved, "phone": "300"}, office)


def assign(crm: httpx.Client, record_id: str, owner: str) -> None:
    given = crm.post(f"/v1/entities/account/records/{record_id}/assign", json={"owner": owner})
    assert given.status_code == 200, given.text


def test_a_conflict_superseded_while_its_record_is_out_of_scope_waits_for_it_to_return(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action", sync_filter="owned")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100")
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    assert phone.sync().conflicts == 1
    [entry] = journal(crm, status="open")
    assign(crm, record_id, "bob")
    answer = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "device"})
    assert answer.status_code == 409, answer.text
    new_id = answer.json()["error"]["details"]["conflict_id"]
    assert new_id is not None

    phone.sync()  # the record left alice's scope: nothing of it to see, nothing typed lost
    phone.sync()

    [conflict] = phone.errors()
    assert conflict["id"] == new_id
    assert conflict["device"]["city"] == "Kosice"
    assign(crm, record_id, "alice")
    phone.sync()
    [conflict] = phone.errors()
    assert conflict["id"] == new_id
    phone.resolve(new_id, "device")
    phone.sync()
    # Each reassignment wrote a version the choice did not see: it is asked again.
    [conflict] = phone.errors()
    assert conflict["device"]["city"] == "Kosice"
    phone.resolve(conflict["id"], "device")
    phone.sync()
    assert server_values(crm, record_id)["city"] == "Kosice"
    assert phone.get("account", record_id) == server_values(crm, record_id)
    assert phone.errors() == []


def test_an_edit_made_before_a_resolution_and_a_trip_out_of_scope_keeps_the_whole_record(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", sync_filter="owned")
    phone, record_id, resolved = resolved_remotely(server, crm, {"use": "device"})
    phone.update("account", record_id, {"phone": "300"})
    assign(crm, record_id, "bob")

    phone.sync()
    assign(crm, record_id, "alice")
    phone.sync()

    typed = {**resolved, "phone": "300"}
    assert phone.get("account", record_id) == typed
    [refused] = phone.errors()  # refused while the record was bob's, as any edit would be
    assert (refused["code"], refused["record"]) == ("no_permission", typed)
    phone.retry("account", record_id)
    phone.sync()
    # As for an edit that went out of scope and came back: the versions written since meet it.
    [conflict] = phone.errors()
    assert (conflict["device"], conflict["server"]) == (typed, resolved)
    phone.resolve(conflict["id"], "device")
    phone.sync()
    assert phone.errors() == []
    assert server_values(crm, record_id) == {**resolved, "phone": "300"}
    assert phone.get("account", record_id) == server_values(crm, record_id)


def test_a_resolved_conflict_whose_record_left_the_scope_with_nothing_typed_leaves_with_it(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", sync_filter="owned")
    phone, record_id, resolved = resolved_remotely(server, crm, {"use": "device"})
    assign(crm, record_id, "bob")

    phone.sync()

    assert phone.get("account", record_id) is None
    assert phone.errors() == []
    assign(crm, record_id, "alice")
    phone.sync()
    assert phone.get("account", record_id) == resolved
    assert phone.unsynced() == 0
