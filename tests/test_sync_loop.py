"""End to end over real HTTP: devices sync with the server under each On Conflict policy."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from conftest import Server
from helpers import office_edit, server_record, set_entity, synced_account


def shared_account(server: Server, **values: Any) -> tuple[Any, str]:
    """A device (alice's phone) holding an account that the back office can edit too."""
    phone = server.device("phone", "alice")
    record_id = phone.create("account", {"name": "Acme", "city": "Bratislava", **values})
    phone.sync()
    return phone, record_id


def test_created_on_device_reaches_the_server_and_other_devices(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id = shared_account(server, phone="+421 900")
    tablet = server.device("tablet", "bob")
    tablet.sync()
    assert server_record(crm, record_id)["record"]["phone"] == "+421 900"
    assert tablet.get("account", record_id) == phone.get("account", record_id)
    assert phone.status("account", record_id) == "synced"


def test_server_wins_keeps_server_version_and_journals_device_change(
    server: Server, crm: httpx.Client
) -> None:
    phone, record_id = shared_account(server)
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    report = phone.sync()
    assert report.server_wins == 1
    assert phone.get("account", record_id)["city"] == "Zilina"
    assert server_record(crm, record_id)["record"]["city"] == "Zilina"
    [entry] = crm.get("/v1/admin/conflicts").json()["conflicts"]
    assert entry["outcome"] == "server_wins"
    assert entry["device"]["city"] == "Kosice"


def test_user_action_conflict_waits_for_the_user_then_applies_the_choice(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    phone, record_id = shared_account(server)
    phone.sync()
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    assert phone.sync().conflicts == 1
    assert phone.get("account", record_id)["city"] == "Kosice"
    assert server_record(crm, record_id)["record"]["city"] == "Zilina"
    [error] = phone.errors()
    assert (error["type"], error["fields"]) == ("conflict", ["city"])
    phone.resolve(error["id"], "device")
    assert phone.sync().device_wins == 1
    assert server_record(crm, record_id)["record"]["city"] == "Kosice"
    assert phone.errors() == []


def test_a_device_is_not_sent_its_own_writes_back(server: Server, crm: httpx.Client) -> None:
    phone, tablet = server.device("phone", "alice"), server.device("tablet", "bob")
    record_id = phone.create("account", {"name": "Mine"})
    report = phone.sync()
    assert (report.pushed, report.pulled) == (1, 0)  # it has the record from the push result
    assert tablet.sync().pulled == 1
    office_edit(crm, record_id, city="Zilina")
    assert phone.sync().pulled == 1
    assert phone.get("account", record_id) == server_record(crm, record_id)["record"]


def test_leaving_out_its_own_writes_moves_the_cursor_as_far_as_reading_them(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    ids = [phone.create("account", {"name": f"Mine {n}"}) for n in range(3)]
    phone.sync()
    mine = {"device_id": phone.device_id, "skip_own": "true"}
    with server.client("alice") as alice:
        everything = alice.get("/v1/sync/pull").json()
        skipped = alice.get("/v1/sync/pull", params=mine).json()
        office_edit(crm, ids[0], city="Zilina")
        after = alice.get("/v1/sync/pull", params={**mine, "cursor": skipped["cursor"]}).json()
    assert len(everything["changes"]) == 3
    assert (skipped["changes"], skipped["cursor"]) == ([], everything["cursor"])
    assert [(c["id"], c["record"]["city"]) for c in after["changes"]] == [(ids[0], "Zilina")]


def test_an_edit_of_a_synced_record_sends_only_the_fields_changed_since_the_pull(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", conflict_detection="field")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, city="Bratislava", phone="100")
    office_edit(crm, record_id, phone="555")
    phone.update("account", record_id, {"city": "Kosice"})
    assert phone.sync().merged == 1  # disjoint fields: no conflict
    on_server = server_record(crm, record_id)["record"]
    assert (on_server["city"], on_server["phone"]) == ("Kosice", "555")
    assert phone.get("account", record_id) == on_server


def test_a_big_batch_lands_whole_as_decided(server: Server, crm: httpx.Client) -> None:
    """Creates, updates, conflicts and their journal entries, and lookups to records
    outside the batch, queued together and written at the batch's end, all land as
    decided."""
    set_entity(crm, "account", on_conflict="full_device_wins")
    phone = server.device("phone", "alice")
    count = 300
    parents = [phone.create("account", {"name": f"Parent {n}"}) for n in range(count)]
    accounts = [phone.create("account", {"name": f"Account {n}"}) for n in range(count)]
    assert phone.sync().applied == 2 * count
    for record_id in accounts:
        office_edit(crm, record_id, city="Office")
        phone.update("account", record_id, {"city": "Phone"})
    contacts = [
        phone.create("contact", {"lastname": f"Contact {n}", "account": parent})
        for n, parent in enumerate(parents)
    ]
    report = phone.sync()
    assert (report.device_wins, report.applied, report.rejected) == (count, count, 0)
    assert all(server_record(crm, a)["record"]["city"] == "Phone" for a in accounts[::50])
    entries = crm.get("/v1/admin/conflicts", params={"limit": 1000}).json()["conflicts"]
    assert sorted(e["record_id"] for e in entries) == sorted(accounts)
    assert {e["outcome"] for e in entries} == {"device_wins"}
    tablet = server.device("tablet", "bob")  # every write under a version of its own
    assert tablet.sync().pulled == 3 * count
    assert [tablet.get("contact", c)["account"] for c in contacts] == parents
    assert all(tablet.get("account", a) == phone.get("account", a) for a in accounts)


def test_a_push_asking_echo_changed_leaves_out_the_records_stored_as_sent(
    server: Server, crm: httpx.Client
) -> None:
    names = [f["name"] for f in crm.get("/v1/admin/entities/account").json()["fields"]]
    whole = {**dict.fromkeys(names), "name": "Acme", "city": "Kosice"}
    short = {"name": "Beta"}  # stored with the other fields as null: not as sent
    changes = [
        {"change_id": f"c{n}", "entity": "account", "id": str(uuid.uuid4()), "op": "create",
         "fields": record, "record": record}
        for n, record in enumerate((whole, short))
    ]  # fmt: skip
    body = {"device_id": str(uuid.uuid4()), "batch_id": str(uuid.uuid4()), "changes": changes}
    with server.client("alice") as alice:
        answer = alice.post("/v1/sync/push", params={"echo": "changed"}, json=body)
        results = answer.json()["results"]
        again = alice.post("/v1/sync/push", json=body)  # the same batch: answered as before
        version = results[0]["version"]
        update = {**changes[0], "op": "update", "base_version": version, "change_id": "c2"}
        no_echo = {**body, "batch_id": str(uuid.uuid4()), "changes": [update]}
        [result] = alice.post("/v1/sync/push", json=no_echo).json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert [r["record"] for r in results] == [None, {**dict.fromkeys(names), "name": "Beta"}]
    assert server_record(crm, changes[0]["id"])["record"] == whole
    assert again.content == answer.content
    assert (result["status"], result["record"]) == ("applied", whole)  # no echo asked
