"""Several `fieldsync serve` processes on one PostgreSQL database (see docs/design.md).

Three server processes share a database; devices sync through them in turn, the
back office writes through a fourth. Everything converges, each policy holds, and
a batch resent to another process is still applied once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from conftest import processes
from fieldsync.device import Device
from helpers import create_batch

USERS = ("alice", "bob", "alice")


@pytest.fixture(scope="module")
def cluster(pg_admin: sa.Engine, pg_template: str) -> Iterator[list[str]]:
    """Four servers on one fresh PostgreSQL database (users from the template), shared by
    the tests here: each one looks only at the records it made.

    The fourth, for the back office, runs two worker processes itself.
    """
    servers = ((), (), (), ("--workers", "2"))
    with processes(pg_admin, pg_template, *servers) as urls:
        yield urls


def _client(url: str, user: str) -> httpx.Client:
    login = {"username": user, "password": "secret"}
    token = httpx.post(f"{url}/v1/auth/login", json=login).json()["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})


def test_devices_syncing_through_three_processes_converge(
    cluster: list[str], tmp_path: Path
) -> None:
    servers, office_url = cluster[:3], cluster[3]
    with _client(office_url, "admin") as office:
        for entity, policy in (("account", "partial_device_wins"), ("contact", "user_action")):
            office.put(f"/v1/admin/entities/{entity}", json={"on_conflict": policy})
        devices = [
            Device.login(tmp_path / f"d{i}", servers[i], USERS[i], "secret") for i in range(3)
        ]
        account = devices[0].create("account", {"name": "Acme", "city": "Bratislava"})
        contact = devices[0].create("contact", {"lastname": "Doe", "account": account})
        devices[0].sync()
        for i in range(3):  # every device moves to another process
            devices[i] = Device.login(tmp_path / f"d{i}", servers[(i + 1) % 3], USERS[i], "secret")
            devices[i].sync()
        devices[1].update("account", account, {"city": "Kosice"})
        devices[2].update("contact", contact, {"jobtitle": "Buyer"})
        office.patch(f"/v1/entities/account/records/{account}", json={"phone": "555"})
        office.patch(f"/v1/entities/contact/records/{contact}", json={"jobtitle": "CEO"})
        assert devices[1].sync().merged == 1  # partial device wins, on another process
        assert devices[2].sync().conflicts == 1  # user action
        [conflict] = devices[2].errors()
        devices[2].resolve(conflict["id"], "device")
        for _ in range(2):
            for device in devices:
                device.sync()
        stored_account = office.get(f"/v1/entities/account/records/{account}").json()["record"]
        stored_contact = office.get(f"/v1/entities/contact/records/{contact}").json()["record"]
    assert (stored_account["city"], stored_account["phone"]) == ("Kosice", "555")
    assert stored_contact["jobtitle"] == "Buyer"
    for device in devices:
        assert device.get("account", account) == stored_account
        assert device.get("contact", contact) == stored_contact
        assert device.errors() == []


def test_a_batch_resent_to_another_process_is_applied_once(cluster: list[str]) -> None:
    record_id, name = str(uuid.uuid4()), f"Once {uuid.uuid4().hex[:6]}"
    body = create_batch(str(uuid.uuid4()), record_id, name=name)
    answers = []
    for url in cluster[:3]:
        with _client(url, "alice") as alice:
            answers.append(alice.post("/v1/sync/push", json=body).json())
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["results"][0]["status"] == "applied"
    with _client(cluster[3], "admin") as office:
        listed = office.get("/v1/entities/account/records").json()["records"]
    records = [r for r in listed if r["record"]["name"] == name]
    assert [r["id"] for r in records] == [record_id]
    assert records[0]["version"] == answers[0]["results"][0]["version"]
