"""Exactly once: a resent batch changes nothing; a device killed mid-sync loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from conftest import Server
from fieldsync.device import Device
from fieldsync.device.push import BATCH_SIZE
from fieldsync.errors import Offline
from fieldsync.server.background import running
from fieldsync.server.schema import batches, records
from helpers import create_batch, office_edit, server_values, set_entity


def test_a_resent_batch_returns_the_stored_results_and_changes_nothing(
    server: Server, crm: httpx.Client
) -> None:
    with server.client("alice") as alice:
        record_id = str(uuid.uuid4())
        body = create_batch(str(uuid.uuid4()), record_id)
        first = alice.post("/v1/sync/push", json=body).json()
        office_edit(crm, record_id, city="Zilina")
        again = alice.post("/v1/sync/push", json=body).json()
    assert again == first
    assert first["results"][0]["status"] == "applied"
    assert server_values(crm, record_id)["city"] == "Zilina"  # the resend did not undo it
    assert len(crm.get("/v1/entities/account/records").json()["records"]) == 1


CRASHING_SYNC = textwrap.dedent(
    """
    import os, signal, sys
    from fieldsync.device import push

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)  # results arrived; nothing stored yet

    push._apply_results = die
    from fieldsync.device import Device
    Device(sys.argv[1]).sync()
    """
)


def _sync_killed_once_answered(phone_dir: Path) -> None:
    """A sync in another process, killed once the server's answer to its first batch
    arrived and before anything of it was stored (a second batch may be on its way)."""
    killed = subprocess.run(
        [sys.executable, "-c", CRASHING_SYNC, str(phone_dir)],
        capture_output=True,
        env=os.environ,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr


def test_device_killed_after_sending_resends_the_same_batch_once(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    set_entity(crm, "account", on_conflict="full_device_wins")
    phone = server.device("phone", "alice")
    created = phone.create("account", {"name": "New", "city": "Bratislava"})
    phone.close()
    _sync_killed_once_answered(tmp_path / "phone")
    version_after_first = crm.get(f"/v1/entities/account/records/{created}").json()["version"]

    phone = Device(tmp_path / "phone")
    assert phone.status("account", created) == "created"  # the results never landed
    report = phone.sync()
    assert report.applied == 1  # the stored result of the first send
    assert phone.status("account", created) == "synced"
    records = crm.get("/v1/entities/account/records").json()["records"]
    assert [r["id"] for r in records] == [created]  # applied once, no duplicate
    assert records[0]["version"] == version_after_first  # the resend wrote nothing
    batches = _batch_count(server)
    assert batches == 1


def test_device_killed_with_the_next_batch_on_its_way_applies_each_change_once(
    server: Server, tmp_path: Path
) -> None:
    phone = server.device("phone", "alice")
    created = {phone.create("account", {"name": f"Many {n}"}) for n in range(BATCH_SIZE + 200)}
    phone.close()
    _sync_killed_once_answered(tmp_path / "phone")

    phone = Device(tmp_path / "phone")
    report = phone.sync()
    assert (report.pushed, report.applied) == (len(created), len(created))
    assert phone.unsynced() == 0
    with server.db.read() as conn:
        on_server = conn.execute(sa.select(records.c.id).where(records.c.entity == "account"))
        assert sorted(r.id for r in on_server) == sorted(created)  # each once
    assert _batch_count(server) == 2


def test_an_edit_made_after_a_crash_is_laid_over_the_server_result_of_the_resent_batch(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    set_entity(crm, "account", on_conflict="partial_device_wins")
    phone = server.device("phone", "alice")
    record_id = phone.create("account", {"name": "Acme", "city": "Bratislava", "street": "Old 1"})
    phone.sync()
    office_edit(crm, record_id, street="Office 2")  # the device does not know yet
    phone.update("account", record_id, {"city": "Zilina"})
    phone.close()
    _sync_killed_once_answered(tmp_path / "phone")

    phone = Device(tmp_path / "phone")
    phone.update("account", record_id, {"phone": "777"})  # after the crash, before the resend
    assert phone.sync().merged == 1  # the stored result: the office's street, the device's city
    phone.sync()
    values = server_values(crm, record_id)
    # The street is not put back to what the device had when it sent the batch.
    assert (values["street"], values["city"], values["phone"]) == ("Office 2", "Zilina", "777")
    assert phone.get("account", record_id)["street"] == "Office 2"
    assert phone.unsynced() == 0


def test_an_edit_made_after_a_crash_is_not_taken_for_a_conflict_with_the_resent_batch(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    phone = server.device("phone", "alice")  # Server Wins: a false conflict would lose the edit
    record_id = phone.create("account", {"name": "Acme", "city": "Bratislava"})
    phone.sync()
    phone.update("account", record_id, {"city": "Zilina"})
    phone.close()
    _sync_killed_once_answered(tmp_path / "phone")

    phone = Device(tmp_path / "phone")
    phone.update("account", record_id, {"phone": "777"})
    phone.sync()  # the resent batch's result is laid under the new edit…
    assert phone.status("account", record_id) == "updated"
    report = phone.sync()  # …which goes out based on the version the server gave it
    assert (report.applied, report.server_wins) == (1, 0)
    values = server_values(crm, record_id)
    assert (values["city"], values["phone"]) == ("Zilina", "777")


def _batch_count(server: Server) -> int:
    with server.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(batches)).scalar_one())


def test_edits_made_while_a_sync_runs_are_kept(server: Server, crm: httpx.Client) -> None:
    phone = server.device("phone", "alice")
    record_id = phone.create("account", {"name": "Acme", "city": "Bratislava"})

    def edit_during_push(phase: str, done: int, downloaded: int = 0) -> None:
        if phase == "push":
            phone.update("account", record_id, {"phone": "777"})

    phone.sync(edit_during_push)
    assert phone.get("account", record_id)["phone"] == "777"
    assert phone.status("account", record_id) == "updated"
    assert server_values(crm, record_id)["phone"] is None
    phone.sync()
    assert server_values(crm, record_id)["phone"] == "777"
    assert phone.status("account", record_id) == "synced"


def test_offline_sync_keeps_every_edit_and_succeeds_later(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    with running(server.db) as short_lived:
        phone = Device.login(tmp_path / "phone", short_lived, "alice", "secret")
    record_id = phone.create("account", {"name": "Offline"})
    with pytest.raises(Offline):
        phone.sync()  # that server is gone
    assert phone.status("account", record_id) == "created"
    phone = Device.login(tmp_path / "phone", server.url, "alice", "secret")
    phone.sync()
    assert server_values(crm, record_id)["name"] == "Offline"
    assert phone.status("account", record_id) == "synced"


def test_large_records_are_pushed_in_batches_under_the_body_limit(
    server: Server, crm: httpx.Client
) -> None:
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    for f in fields:
        if f["name"] == "description":
            f["max_length"] = 100_000
    set_entity(crm, "account", fields=fields)
    phone = server.device("phone", "alice")
    text = "x" * 100_000
    ids = [phone.create("account", {"name": f"Big {i}", "description": text}) for i in range(110)]
    report = phone.sync()  # 11 MB of changes: more than one request may carry
    assert (report.pushed, report.applied, report.rejected) == (110, 110, 0)
    assert all(server_values(crm, i)["description"] == text for i in ids[:3])
