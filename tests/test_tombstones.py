"""Tombstone horizon: purged deletes make devices with older cursors resync, losing nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from conftest import Server
from fieldsync.server import tombstones
from helpers import journal, office_delete, server_values, set_entity, synced_account


def test_a_device_behind_the_horizon_resyncs_and_keeps_its_edits(
    server: Server, crm: httpx.Client
) -> None:
    phone, tablet = server.device("phone", "alice"), server.device("tablet", "bob")
    gone = synced_account(phone, name="Deleted later")
    kept = synced_account(phone, name="Edited offline")
    tablet.sync()
    phone.update("account", kept, {"city": "Kosice"})  # unsynced on the phone
    office_delete(crm, gone)
    tablet.sync()  # the tablet saw the delete before the purge
    with server.db.write() as conn:
        done = tombstones.vacuum(conn, timedelta(0))
    assert done.purged == 1
    assert crm.get(f"/v1/entities/account/records/{gone}").status_code == 404

    report = phone.sync()
    assert report.resynced
    assert phone.get("account", gone) is None  # the delete it never pulled still lands
    assert phone.get("account", kept)["city"] == "Kosice"
    assert server_values(crm, kept)["city"] == "Kosice"  # pushed before the re-download
    assert not tablet.sync().resynced  # its cursor was past the horizon


def test_the_horizon_only_rises(server: Server, crm: httpx.Client) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    office_delete(crm, record_id)
    with server.db.write() as conn:
        first = tombstones.vacuum(conn, timedelta(0))
        again = tombstones.vacuum(conn, timedelta(0))
        recent = tombstones.vacuum(conn, timedelta(days=30))
    assert first.horizon > 0
    assert again == tombstones.Vacuumed(0, first.horizon)
    assert recent == tombstones.Vacuumed(0, first.horizon)


def test_a_tombstone_an_open_conflict_needs_is_kept(server: Server, crm: httpx.Client) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.update("account", record_id, {"city": "Kosice"})
    office_delete(crm, record_id)
    phone.sync()
    [conflict] = phone.errors()
    with server.db.write() as conn:
        assert tombstones.vacuum(conn, timedelta(0)).purged == 0
    phone.resolve(conflict["id"], "device")  # restore my version
    phone.sync()
    assert server_values(crm, record_id)["city"] == "Kosice"


def _purge(server: Server) -> None:
    with server.db.write() as conn:
        # A cutoff just ahead: a delete made within the same millisecond is purged too.
        assert tombstones.vacuum(conn, timedelta(seconds=-1)).purged == 1


def test_restore_recreates_a_record_whose_tombstone_was_purged(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100")
    phone.update("account", record_id, {"city": "Kosice"})
    office_delete(crm, record_id)
    phone.sync()  # server wins: stays deleted, the phone's values are journaled
    _purge(server)
    [entry] = journal(crm)
    restored = crm.post(f"/v1/admin/journal/{entry['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert server_values(crm, record_id) == entry["device"]  # the journal alone has them
    assert entry["device"]["city"] == "Kosice"
    phone.sync()
    assert phone.get("account", record_id) == server_values(crm, record_id)


PURGED_UNDER_AN_EDIT = [  # device updated, server deleted, tombstone purged
    ("server_wins", "server_wins", False),
    ("partial_device_wins", "merged", True),
    ("full_device_wins", "device_wins", True),
]


@pytest.mark.parametrize(("policy", "outcome", "recreated"), PURGED_UNDER_AN_EDIT)
def test_an_edit_of_a_record_whose_tombstone_was_purged_meets_the_policy(
    server: Server, crm: httpx.Client, policy: str, outcome: str, recreated: bool
) -> None:
    set_entity(crm, "account", on_conflict=policy)
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100")
    phone.update("account", record_id, {"city": "Kosice"})
    edited = phone.get("account", record_id)
    office_delete(crm, record_id)
    _purge(server)
    report = phone.sync()
    assert report.rejected == 0
    assert phone.errors() == []
    answer = crm.get(f"/v1/entities/account/records/{record_id}")
    if recreated:
        assert server_values(crm, record_id) == edited
        assert phone.get("account", record_id) == edited
    else:  # stays deleted
        assert answer.status_code == 404
        assert phone.get("account", record_id) is None
    [entry] = journal(crm)
    assert (entry["kind"], entry["outcome"]) == ("update_delete", outcome)
    assert entry["device"] == edited  # the device's values are journaled


@pytest.mark.parametrize("settled_by", ["device", "console"])
def test_user_action_opens_a_conflict_for_an_edit_of_a_purged_record(
    server: Server, crm: httpx.Client, settled_by: str
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone, phone="100")
    phone.update("account", record_id, {"city": "Kosice"})
    office_delete(crm, record_id)
    _purge(server)
    phone.sync()
    [conflict] = phone.errors()
    assert (conflict["type"], conflict["kind"]) == ("conflict", "update_delete")
    assert conflict["choices"]["device"] == "Restore my version"
    if settled_by == "device":
        phone.resolve(conflict["id"], "device")
    else:
        [entry] = journal(crm, status="open")
        answer = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "device"})
        assert answer.status_code == 200, answer.text
    phone.sync()
    assert phone.errors() == []
    assert server_values(crm, record_id)["city"] == "Kosice"
    assert server_values(crm, record_id)["phone"] == "100"
    assert phone.get("account", record_id) == server_values(crm, record_id)


def test_a_delete_of_a_record_whose_tombstone_was_purged_is_no_conflict(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.delete("account", record_id)
    office_delete(crm, record_id)
    _purge(server)
    report = phone.sync()
    assert (report.rejected, report.applied) == (0, 1)
    assert phone.errors() == []
    assert phone.unsynced() == 0
    assert journal(crm) == []
