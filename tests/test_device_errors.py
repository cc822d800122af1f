"""Sync errors on the device: rejected changes fixed or discarded, remote resolution, restores."""

from __future__ import annotations

import httpx
import pytest

from conftest import Server
from fieldsync.device import Device, remote
from fieldsync.device.threeway import field_changes, suggested_merge
from fieldsync.errors import ValidationFailed
from helpers import (
    journal,
    office_delete,
    office_edit,
    server_record,
    server_values,
    set_entity,
    synced_account,
)


def test_rejected_change_is_kept_until_fixed_and_retried(server: Server, crm: httpx.Client) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    # The admin makes email required after the phone downloaded the project (confirming
    # that the stored record now lacks it).
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    for f in fields:
        if f["name"] == "email":
            f["required"] = True
    set_entity(crm, "account", fields=fields, confirm=True)
    phone.update("account", record_id, {"city": "Kosice"})
    other = phone.create("account", {"name": "Other", "email": "o@example.com"})
    report = phone.sync()
    assert (report.rejected, report.applied) == (1, 1)  # the other change went through
    [error] = phone.errors()
    assert (error["type"], error["code"], error["record_id"]) == ("rejected", "required", record_id)
    assert "email is required" in error["message"]
    assert phone.get("account", record_id)["city"] == "Kosice"  # kept on the device
    assert phone.sync().pushed == 0  # not resent until the user acts
    phone.update("account", record_id, {"email": "acme@example.com"})  # fix…
    assert phone.sync().applied == 1  # …and retry
    assert server_values(crm, record_id)["city"] == "Kosice"
    assert server_values(crm, other)["name"] == "Other"
    assert phone.errors() == []


def test_discarding_a_rejected_change_returns_to_the_server_version(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    set_entity(crm, "account", fields=_shorter_city(crm), confirm=True)  # after the download
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, phone="555")  # the server moves on meanwhile
    phone.sync()
    assert phone.errors()[0]["code"] == "too_long"
    phone.discard("account", record_id)
    assert phone.get("account", record_id) == server_values(crm, record_id)
    assert phone.get("account", record_id)["phone"] == "555"
    assert phone.errors() == []
    assert phone.sync().pushed == 0


def _shorter_city(crm: httpx.Client) -> list[dict[str, object]]:
    fields: list[dict[str, object]] = crm.get("/v1/admin/entities/account").json()["fields"]
    for f in fields:
        if f["name"] == "city":
            f["max_length"] = 3
    return fields


def test_local_validation_refuses_bad_edits_at_once(server: Server) -> None:
    phone = server.device("phone", "alice")
    with pytest.raises(ValidationFailed, match="required"):
        phone.create("account", {"city": "No name"})
    with pytest.raises(ValidationFailed, match="must be an integer"):
        phone.create("account", {"name": "A", "employees": "many"})
    with pytest.raises(ValidationFailed, match="no account"):
        phone.create(
            "contact", {"lastname": "Doe", "account": "3f1c4a56-1111-4c3b-9a51-2d0c1e4b5f60"}
        )
    assert phone.unsynced() == 0


def test_admin_resolves_a_conflict_remotely_and_the_device_receives_it(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.update("account", record_id, {"city": "Kosice", "phone": "300"})
    office_edit(crm, record_id, city="Zilina", phone="200")
    phone.sync()
    [entry] = journal(crm, status="open")
    answer = crm.post(
        f"/v1/admin/conflicts/{entry['id']}/resolve",
        json={"use": "merge", "fields": {"phone": "device"}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "merged"
    assert server_values(crm, record_id)["phone"] == "300"
    assert server_values(crm, record_id)["city"] == "Zilina"
    report = phone.sync()
    assert report.resolved_remotely == 1
    assert phone.errors() == []
    assert phone.get("account", record_id) == server_values(crm, record_id)
    again = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "server"})
    assert again.status_code == 409


@pytest.mark.parametrize("use", ["merge", "device"])
def test_an_admin_choice_pointing_at_a_deleted_record_is_refused_and_changes_nothing(
    server: Server, crm: httpx.Client, use: str
) -> None:
    set_entity(crm, "contact", on_conflict="user_action")
    phone = server.device("phone", "alice")
    account_id = synced_account(phone)
    contact_id = phone.create("contact", {"lastname": "Doe"})
    phone.sync()
    phone.update("contact", contact_id, {"account": account_id})
    office_edit(crm, contact_id, "contact", jobtitle="Buyer")
    office_delete(crm, account_id)  # what the device points at is gone before it syncs
    phone.sync()
    [entry] = journal(crm, status="open")
    before = server_values(crm, contact_id, "contact")
    answer = crm.post(
        f"/v1/admin/conflicts/{entry['id']}/resolve",
        json={"use": use, "fields": {"account": "device"} if use == "merge" else {}},
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("missing_parent", "account")
    assert "contact.account points at a account that does not exist" in error["message"]
    assert server_values(crm, contact_id, "contact") == before
    assert [e["id"] for e in journal(crm, status="open")] == [entry["id"]]


def test_an_admin_merge_picking_a_field_the_record_lacks_is_refused_and_changes_nothing(
    server: Server, crm: httpx.Client
) -> None:
    _, [record_id] = _open_conflicts(server, crm, 1)
    [entry] = journal(crm, status="open")
    before = server_values(crm, record_id)
    answer = crm.post(
        f"/v1/admin/conflicts/{entry['id']}/resolve",
        json={"use": "merge", "fields": {"cty": "device"}},  # a typo of city
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("unknown_field", "cty")
    assert server_values(crm, record_id) == before
    assert [e["id"] for e in journal(crm, status="open")] == [entry["id"]]


def _open_conflicts(server: Server, crm: httpx.Client, count: int) -> tuple[Device, list[str]]:
    """A phone with `count` open User Action conflicts (Kosice here, Zilina there)."""
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_ids = [synced_account(phone, name=f"Account {n}") for n in range(count)]
    for record_id in record_ids:
        phone.update("account", record_id, {"city": "Kosice"})
        office_edit(crm, record_id, city="Zilina")
    assert phone.sync().conflicts == count
    return phone, record_ids


def test_a_device_asks_about_its_open_conflicts_in_parts_and_learns_of_every_resolution(
    server: Server, crm: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "ASK", 2)  # five open conflicts: three requests
    phone, record_ids = _open_conflicts(server, crm, 5)
    entries = {e["record_id"]: e["id"] for e in journal(crm, status="open")}
    settled = [record_ids[0], record_ids[4]]  # asked about in the first and the last part
    for record_id in settled:
        crm.post(f"/v1/admin/conflicts/{entries[record_id]}/resolve", json={"use": "device"})
    assert phone.sync().resolved_remotely == 2
    assert sorted(e["record_id"] for e in phone.errors()) == sorted(record_ids[1:4])
    for record_id in settled:
        assert phone.get("account", record_id) == server_values(crm, record_id)
        assert phone.get("account", record_id)["city"] == "Kosice"


def test_restore_writes_the_losing_values_back_and_devices_receive_them(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina", phone="200")
    phone.sync()  # server wins: Kosice is only in the journal now
    assert phone.get("account", record_id)["city"] == "Zilina"
    [entry] = journal(crm)
    restored = crm.post(f"/v1/admin/journal/{entry['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert server_values(crm, record_id)["city"] == "Kosice"
    assert server_values(crm, record_id)["phone"] == "200"  # only the device's change came back
    phone.sync()
    assert phone.get("account", record_id)["city"] == "Kosice"
    assert journal(crm)[0]["restored_at"] is not None


def test_a_delete_that_won_can_be_undone_by_restoring_the_server_values(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="full_device_wins")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.delete("account", record_id)
    office_edit(crm, record_id, city="Zilina")
    phone.sync()
    assert server_values(crm, record_id) is None
    [entry] = journal(crm)
    assert crm.post(f"/v1/admin/journal/{entry['id']}/restore").status_code == 200
    assert server_values(crm, record_id)["city"] == "Zilina"
    phone.sync()
    assert phone.get("account", record_id)["city"] == "Zilina"


def test_resolve_all_applies_one_choice_to_every_open_conflict(
    server: Server, crm: httpx.Client
) -> None:
    phone, ids = _open_conflicts(server, crm, 3)
    assert phone.resolve_all("server") == 3
    phone.sync()
    assert phone.errors() == []
    assert all(phone.get("account", i)["city"] == "Zilina" for i in ids)
    assert {e["outcome"] for e in journal(crm)} == {"server_wins"}


def test_a_batch_the_server_refuses_whole_is_held_not_resent_forever(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    good = phone.create("account", {"name": "Good"})
    broken = phone.create("account", {"name": "Broken"})
    # A device bug (or a damaged store) made one id unusable: the server refuses the batch.
    phone.store.conn.execute("UPDATE records SET id = 'not-a-uuid' WHERE id = ?", (broken,))
    report = phone.sync()  # the sync itself goes on
    assert report.rejected == 2
    errors = {e["record_id"]: e for e in phone.errors()}
    assert set(errors) == {good, "not-a-uuid"}
    assert "refused the batch" in errors[good]["message"]
    assert phone.sync().pushed == 0  # held until the user acts, not resent at every sync
    phone.discard("account", "not-a-uuid")
    phone.retry("account", good)
    assert phone.sync().applied == 1
    assert server_values(crm, good)["name"] == "Good"
    assert phone.errors() == []


@pytest.mark.parametrize(
    "choice",
    [{"use": "device"}, {"use": "server"}, {"use": "merge", "fields": {"city": "device"}}],
    ids=["device", "server", "merge"],
)
def test_a_remote_resolution_of_a_conflict_the_office_changed_since_is_refused_and_met_anew(
    server: Server, crm: httpx.Client, choice: dict[str, object]
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100", email="old@acme.example")
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    phone.sync()
    [stale] = journal(crm, status="open")
    office_edit(crm, record_id, phone="555", email="office@acme.example")  # after it opened
    newest = server_values(crm, record_id)

    answer = crm.post(f"/v1/admin/conflicts/{stale['id']}/resolve", json=choice)

    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "conflict_superseded"
    assert server_values(crm, record_id) == newest  # nothing the admin did not see overwritten
    [met_anew] = journal(crm, status="open")
    assert error["details"]["conflict_id"] == met_anew["id"] != stale["id"]
    assert met_anew["server"] == newest
    assert met_anew["device"]["city"] == "Kosice"
    assert crm.get(f"/v1/admin/conflicts/{stale['id']}").json()["status"] == "superseded"

    phone.sync()  # the phone keeps D in Sync errors, facing the newest server version
    [error_shown] = phone.errors()
    assert (error_shown["id"], error_shown["server"]) == (met_anew["id"], newest)
    assert phone.get("account", record_id)["city"] == "Kosice"

    decided = crm.post(f"/v1/admin/conflicts/{met_anew['id']}/resolve", json=choice)
    assert decided.status_code == 200, decided.text
    phone.sync()
    assert phone.errors() == []
    assert phone.get("account", record_id) == server_values(crm, record_id)
    if choice["use"] != "device":  # the device's version puts its own phone and email back
        assert server_values(crm, record_id)["phone"] == "555"


def test_a_choice_made_on_the_device_before_it_learns_its_conflict_was_met_anew_is_asked_again(
    server: Server, crm: httpx.Client
) -> None:
    phone, [record_id] = _open_conflicts(server, crm, 1)
    [stale] = journal(crm, status="open")
    office_edit(crm, record_id, phone="555")
    assert (
        crm.post(f"/v1/admin/conflicts/{stale['id']}/resolve", json={"use": "server"}).status_code
        == 409
    )
    phone.resolve(stale["id"], "device")  # chosen on the server version it had seen

    phone.sync()

    [met_anew] = journal(crm, status="open")
    [error_shown] = phone.errors()
    assert (error_shown["id"], error_shown["choice"]) == (met_anew["id"], None)
    assert server_values(crm, record_id)["phone"] == "555"
    assert server_values(crm, record_id)["city"] == "Zilina"


def test_discarding_a_create_refused_already_exists_takes_the_server_record(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = phone.create("account", {"name": "Acme from the phone"})
    office = crm.post("/v1/entities/account/records", json={"id": record_id, "name": "Acme"})
    assert office.status_code == 201, office.text  # the office used the same id first
    phone.sync()
    [error] = phone.errors()
    assert (error["code"], error["record_id"]) == ("already_exists", record_id)
    phone.discard("account", record_id)
    phone.sync()
    assert phone.get("account", record_id) == server_values(crm, record_id)
    assert phone.get("account", record_id)["name"] == "Acme"
    assert phone.errors() == []
    assert phone.sync().pushed == 0


def test_discarding_a_create_refused_for_its_values_leaves_nothing(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = phone.create("account", {"name": "Acme", "city": "Kosice"})
    set_entity(crm, "account", fields=_shorter_city(crm))  # after the phone's download
    phone.sync()
    assert phone.errors()[0]["code"] == "too_long"
    phone.discard("account", record_id)
    phone.sync()
    assert phone.get("account", record_id) is None
    assert crm.get(f"/v1/entities/account/records/{record_id}").status_code == 404
    assert phone.errors() == []


def test_discarding_an_update_of_a_record_the_server_never_had_removes_it(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    # A damaged store claims a version of a record the server never had.
    phone.store.conn.execute(
        "UPDATE records SET id = '0b8f5e2c-1111-4c3b-9a51-2d0c1e4b5f60', base_version = 999999 "
        "WHERE id = ?",
        (record_id,),
    )
    never = "0b8f5e2c-1111-4c3b-9a51-2d0c1e4b5f60"
    phone.update("account", never, {"city": "Kosice"})
    phone.sync()
    [error] = phone.errors()
    assert (error["code"], error["record_id"]) == ("not_found", never)
    phone.discard("account", never)
    phone.sync()
    assert phone.get("account", never) is None
    assert phone.errors() == []


def _account_in_conflict_with_a_new_contact(
    server: Server, crm: httpx.Client
) -> tuple[Device, str, str]:
    """Under User Action: the phone edits an account the office deletes, and adds a
    contact under it; the account's change opens a conflict, the contact is refused."""
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    account = synced_account(phone)
    phone.update("account", account, {"city": "Kosice"})
    contact = phone.create("contact", {"lastname": "Doe", "account": account})
    crm.delete(f"/v1/entities/account/records/{account}")
    report = phone.sync()
    assert (report.conflicts, report.rejected) == (1, 1)
    return phone, account, contact


def test_a_child_refused_for_its_parents_conflict_says_so_and_goes_with_the_users_choice(
    server: Server, crm: httpx.Client
) -> None:
    phone, account, contact = _account_in_conflict_with_a_new_contact(server, crm)
    conflict, refused = phone.errors()
    assert (refused["code"], refused["record_id"]) == ("parent_conflict", contact)
    assert "its account has an open conflict" in refused["message"]
    phone.resolve(conflict["id"], "device")  # Restore my version
    report = phone.sync()
    assert report.rejected == 0
    assert phone.errors() == []
    assert server_values(crm, account)["city"] == "Kosice"
    assert server_values(crm, contact, "contact")["account"] == account
    assert phone.get("contact", contact) == server_values(crm, contact, "contact")


def test_a_child_is_sent_again_once_a_console_settles_its_parents_conflict(
    server: Server, crm: httpx.Client
) -> None:
    phone, account, contact = _account_in_conflict_with_a_new_contact(server, crm)
    [entry] = journal(crm, status="open")
    answer = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "device"})
    assert answer.status_code == 200, answer.text
    phone.sync()  # learns the outcome first, then sends the contact
    assert phone.errors() == []
    assert server_values(crm, contact, "contact")["account"] == account


def test_a_child_of_a_parent_deleted_on_the_server_says_so_until_the_user_acts(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    account = synced_account(phone)
    phone.update("account", account, {"city": "Kosice"})
    contact = phone.create("contact", {"lastname": "Doe", "account": account})
    crm.delete(f"/v1/entities/account/records/{account}")
    phone.sync()
    conflict, _ = phone.errors()
    phone.resolve(conflict["id"], "server")  # Accept delete
    phone.sync()
    [refused] = phone.errors()
    assert (refused["code"], refused["record_id"]) == ("parent_deleted", contact)
    assert "its account was deleted on the server" in refused["message"]
    assert phone.sync().pushed == 0  # not resent until the user acts


def test_the_three_way_view_names_who_changed_each_field_in_every_kind() -> None:
    base = {"name": "Acme", "city": "Lyon", "note": "", "phone": "1"}
    mine = {**base, "note": "gate 12", "phone": "2", "city": "Nice"}
    office = {**base, "name": "Acme SA", "phone": "3", "city": "Nice"}
    both = {c["field"]: c["changed_by"] for c in field_changes(base, mine, office)}
    assert both == {"name": "office", "city": "both alike", "note": "you", "phone": "both"}
    assert suggested_merge(field_changes(base, mine, office)) == ["note", "phone"]
    office_deleted = {c["field"]: c["changed_by"] for c in field_changes(base, mine, None)}
    assert office_deleted == {"name": "", "city": "you", "note": "you", "phone": "you"}
    i_deleted = {c["field"]: c["changed_by"] for c in field_changes(base, None, office)}
    assert i_deleted == {"name": "office", "city": "office", "note": "", "phone": "office"}


def test_a_merge_takes_a_field_the_user_did_not_pick_from_the_side_that_changed_it(
    server: Server, crm: httpx.Client
) -> None:
    # The field app does the same (docs/policies.md): both devices send the same merge.
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.update("account", record_id, {"city": "Kosice", "phone": "777"})
    office_edit(crm, record_id, city="Zilina", email="office@example.com")
    phone.sync()
    [conflict] = journal(crm, status="open")
    phone.resolve(conflict["id"], "merge", {"city": "server"})  # phone and email unpicked
    phone.update("account", record_id, {"street": "Gate 42"})  # typed after deciding

    phone.sync()

    values = server_values(crm, record_id)
    assert (values["city"], values["email"]) == ("Zilina", "office@example.com")
    assert (values["phone"], values["street"]) == ("777", "Gate 42")
    assert phone.get("account", record_id) == values


def test_a_second_restore_of_the_same_entry_writes_nothing(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina", phone="200")
    phone.sync()
    [entry] = journal(crm)
    assert crm.post(f"/v1/admin/journal/{entry['id']}/restore").status_code == 200
    version = server_record(crm, record_id)["version"]

    again = crm.post(f"/v1/admin/journal/{entry['id']}/restore")

    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "nothing_to_restore"
    assert server_record(crm, record_id)["version"] == version
    office_edit(crm, record_id, city="Zilina")  # the office overwrote it again: restorable
    assert crm.post(f"/v1/admin/journal/{entry['id']}/restore").status_code == 200
    assert server_values(crm, record_id)["city"] == "Kosice"


def test_discarding_a_change_to_an_entity_no_longer_synced_leaves_nothing_on_the_device(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.update("account", record_id, {"city": "Kosice"})
    set_entity(crm, "account", sync_filter="none")  # accounts leave the phones
    phone.sync()
    [error] = phone.errors()
    assert (error["code"], error["record_id"]) == ("entity_not_synced", record_id)
    phone.discard("account", record_id)
    phone.sync()
    assert phone.get("account", record_id) is None
    assert phone.records("account") == {}
    assert phone.errors() == []


def test_discarding_a_delete_of_an_entity_no_longer_synced_leaves_nothing_on_the_device(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.delete("account", record_id)
    set_entity(crm, "account", sync_filter="none")  # accounts leave the phones
    phone.sync()
    [error] = phone.errors()
    assert (error["code"], error["record_id"]) == ("entity_not_synced", record_id)
    phone.discard("account", record_id)
    phone.sync()
    assert phone.records("account") == {}
    assert phone.errors() == []
