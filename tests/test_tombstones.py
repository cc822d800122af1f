"""Tombstone horizon: purged deletes make devices with older cursors resync, losing nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx

from conftest import Server
from fieldsync.server import tombstones
from helpers import office_delete, server_values, set_entity, synced_account


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
