"""Another user logs in to a device directory: a new device for them, or a clear refusal
while the previous user's changes are not on the server yet."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from conftest import Server
from fieldsync.cli.main import app
from fieldsync.device import Device
from helpers import server_values, set_entity, synced_account

runner = CliRunner()


def device_login(server: Server, directory: str, user: str, *extra: str) -> tuple[int, str]:
    """`fieldsync device login` as `user` (the seeded password); exit code and output."""
    args = ["device", "login", "--dir", directory, "--server", server.url, "--user", user]
    result = runner.invoke(app, [*args, "--password", "secret", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_synced_device_switched_to_another_user_becomes_their_device(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", sync_filter="owned")
    phone = server.device("phone", "alice")
    alices = synced_account(phone, name="Alice's")
    alices_device = phone.device_id
    phone.close()
    bobs = synced_account(server.device("tablet", "bob"), name="Bob's")

    code, out = device_login(server, str(server.tmp / "phone"), "bob")
    assert code == 0, out
    phone = Device(server.tmp / "phone")
    assert phone.device_id != alices_device
    assert phone.device_id in out
    assert phone.records("account") == {}  # alice's records left with her
    phone.sync()
    assert list(phone.records("account")) == [bobs]
    phone.update("account", bobs, {"city": "Kosice"})
    assert phone.sync().applied == 1
    assert server_values(crm, bobs)["city"] == "Kosice"
    assert server_values(crm, alices)["name"] == "Alice's"


def test_switching_user_with_unsynced_changes_is_refused_and_says_what_would_be_lost(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    kept = synced_account(phone)
    phone.update("account", kept, {"city": "Kosice"})
    phone.create("account", {"name": "New"})
    alices_device = phone.device_id
    phone.close()

    code, out = device_login(server, str(server.tmp / "phone"), "bob")
    assert code == 1
    assert "Traceback" not in out
    assert "alice has 2 unsynced changes (account 2)" in out
    assert "fieldsync device sync" in out
    assert "--discard-unsynced" in out
    phone = Device(server.tmp / "phone")
    assert phone.device_id == alices_device
    assert phone.unsynced() == 2
    assert phone.sync().applied == 2  # still alice's, and nothing lost
    assert server_values(crm, kept)["city"] == "Kosice"


def test_switching_user_may_discard_the_unsynced_changes_when_asked(
    server: Server, crm: httpx.Client
) -> None:
    phone = server.device("phone", "alice")
    kept = synced_account(phone)
    phone.update("account", kept, {"city": "Kosice"})
    phone.close()

    code, out = device_login(server, str(server.tmp / "phone"), "bob", "--discard-unsynced")
    assert code == 0, out
    phone = Device(server.tmp / "phone")
    assert phone.unsynced() == 0
    phone.sync()
    assert phone.get("account", kept)["city"] == "Bratislava"  # bob sees every account
    assert server_values(crm, kept)["city"] == "Bratislava"


def test_the_same_user_logging_in_again_keeps_the_device_and_its_changes(
    server: Server,
) -> None:
    phone = server.device("phone", "alice")
    record_id = phone.create("account", {"name": "Offline"})
    device_id = phone.device_id
    phone.close()
    code, out = device_login(server, str(server.tmp / "phone"), "alice")
    assert code == 0, out
    phone = Device(server.tmp / "phone")
    assert (phone.device_id, phone.status("account", record_id)) == (device_id, "created")
