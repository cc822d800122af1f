"""Isolation: users see, pull and push only their scope; devices see only their own conflicts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from conftest import Server, drop_pg_database, fresh_pg_database, pg_url
from fieldsync.device import Device
from fieldsync.server import cursors
from fieldsync.server.background import running
from fieldsync.server.db import Database
from helpers import journal, office_edit, server_values, set_entity


def test_owned_entities_reach_only_their_owner(server: Server, crm: httpx.Client) -> None:
    set_entity(crm, "account", sync_filter="owned")
    phone, tablet = server.device("phone", "alice"), server.device("tablet", "bob")
    mine = phone.create("account", {"name": "Alice's"})
    phone.sync()
    tablet.sync()
    assert tablet.records("account") == {}
    with server.client("bob") as bob:
        assert bob.get(f"/v1/entities/account/records/{mine}").status_code == 404
        assert (
            bob.patch(f"/v1/entities/account/records/{mine}", json={"city": "X"}).status_code == 404
        )
        assert bob.get("/v1/entities/account/records").json()["records"] == []
        pushed = bob.post(
            "/v1/sync/push",
            json={
                "device_id": tablet.device_id,
                "batch_id": "b1",
                "changes": [
                    {
                        "change_id": "c1",
                        "entity": "account",
                        "id": mine,
                        "op": "update",
                        "base_version": 1,
                        "fields": {"city": "Stolen"},
                    },
                ],
            },
        )
    assert pushed.json()["results"][0]["error"]["code"] == "no_permission"
    assert server_values(crm, mine)["city"] is None


def test_assigning_a_record_moves_it_between_devices(server: Server, crm: httpx.Client) -> None:
    set_entity(crm, "account", sync_filter="owned")
    phone, tablet = server.device("phone", "alice"), server.device("tablet", "bob")
    record_id = phone.create("account", {"name": "Handover"})
    phone.sync()
    answer = crm.post(f"/v1/entities/account/records/{record_id}/assign", json={"owner": "bob"})
    assert answer.status_code == 200, answer.text
    phone.sync()
    tablet.sync()
    assert phone.get("account", record_id) is None  # left alice's scope: deleted there
    assert tablet.get("account", record_id) == server_values(crm, record_id)


def test_a_record_given_away_and_back_between_two_syncs_stays_on_the_device(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", sync_filter="owned")
    phone = server.device("phone", "alice")
    record_id = phone.create("account", {"name": "Boomerang"})
    phone.sync()
    for owner in ("bob", "alice"):  # one page brings its exit and its return
        answer = crm.post(f"/v1/entities/account/records/{record_id}/assign", json={"owner": owner})
        assert answer.status_code == 200, answer.text
    later = server.device("tablet", "alice")
    phone.sync()
    later.sync()
    assert phone.get("account", record_id) == server_values(crm, record_id)
    assert later.get("account", record_id) == server_values(crm, record_id)


def test_a_device_never_sees_another_devices_conflicts(server: Server, crm: httpx.Client) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    phone, tablet = server.device("phone", "alice"), server.device("tablet", "bob")
    record_id = phone.create("account", {"name": "Shared"})
    phone.sync()
    tablet.sync()
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    phone.sync()
    [entry] = journal(crm, status="open")
    tablet.sync()
    assert tablet.errors() == []
    with server.client("bob") as bob:
        asked = bob.post(
            "/v1/sync/conflicts", json={"device_id": tablet.device_id, "ids": [entry["id"]]}
        )
        assert asked.json() == {"conflicts": []}
        stolen = bob.post(
            "/v1/sync/conflicts", json={"device_id": phone.device_id, "ids": [entry["id"]]}
        )
        assert stolen.status_code == 403
        resolve = bob.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "server"})
        assert resolve.status_code == 403


def test_a_device_token_cannot_push_for_another_device(server: Server) -> None:
    phone, tablet = server.device("phone", "alice"), server.device("tablet", "bob")
    token = tablet.store.get_meta("token")
    response = httpx.post(
        f"{server.url}/v1/sync/push",
        headers={"Authorization": f"Bearer {token}"},
        json={"device_id": phone.device_id, "batch_id": "b", "changes": []},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "foreign_device"


def backup_copy(server: Server, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A copy of the server's database as it is now, like a backup restored later."""
    if server.db.is_sqlite:
        backup = tmp_path / "backup.db"
        with sqlite3.connect(server.tmp / "server.db") as live, sqlite3.connect(backup) as copy:
            live.backup(copy)
        return Database(str(backup))
    admin = request.getfixturevalue("pg_admin")
    server.db.engine.dispose()  # a template database must have no open connections
    live = sa.make_url(server.db.url).database
    name = fresh_pg_database(admin, live)
    request.addfinalizer(lambda: drop_pg_database(admin, name))
    return Database(pg_url(name))


def test_a_server_restored_from_backup_makes_devices_resync_without_losing_edits(
    server: Server, crm: httpx.Client, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    phone = server.device("phone", "alice")
    kept = phone.create("account", {"name": "Kept", "city": "Bratislava"})
    phone.sync()
    restored = backup_copy(server, request, tmp_path)
    lost = phone.create("account", {"name": "After the backup"})
    phone.sync()
    phone.update("account", kept, {"city": "Kosice"})  # unsynced when the server is restored
    with restored.write() as conn:
        cursors.new_epoch(conn)  # what `fieldsync db restored` does
    with running(restored) as url:
        phone = Device.login(tmp_path / "phone", url, "alice", "secret")
        report = phone.sync()
        assert report.resynced
        assert phone.get("account", kept)["city"] == "Kosice"
        assert phone.get("account", lost) is None  # the server lost it with the restore
        with httpx.Client(base_url=url) as anonymous:
            login = {"username": "admin", "password": "secret"}
            token = anonymous.post("/v1/auth/login", json=login).json()["token"]
            record = anonymous.get(
                f"/v1/entities/account/records/{kept}", headers={"Authorization": f"Bearer {token}"}
            ).json()
        assert record["record"]["city"] == "Kosice"
    restored.dispose()
