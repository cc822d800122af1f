"""`fieldsync demo`: every On Conflict policy and delete case, on a real server, in a table.

In a temporary directory it starts a server with the demo project, logs in a field
worker's phone, and plays the back office over the records API. For each policy it
makes three conflicts on the `account` entity — both sides edit, the server
deletes what the device edited, the device deletes what the server edited — syncs,
and prints what the server and the device hold afterwards.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from fieldsync.device import Device
from fieldsync.project import Policy
from fieldsync.server import users
from fieldsync.server.background import running
from fieldsync.server.db import Database


@dataclass(frozen=True)
class Case:
    """One conflict: what the device does and what the back office does."""

    title: str
    device_deletes: bool
    server_deletes: bool


CASES = (
    Case("edit / edit", device_deletes=False, server_deletes=False),
    Case("edit / delete", device_deletes=False, server_deletes=True),
    Case("delete / edit", device_deletes=True, server_deletes=False),
)
DEVICE_EDIT = {"city": "Kosice"}
SERVER_EDIT = {"city": "Zilina", "phone": "555"}


def run(console: Console) -> None:
    """Play every case and print the before/after tables."""
    with tempfile.TemporaryDirectory(prefix="fieldsync-demo-") as tmp:
        db = Database(str(Path(tmp) / "server.db"))
        db.prepare()
        with db.write() as conn:
            users.enroll(conn, "alice", "harbour-lantern-7")
            users.enroll(conn, "office", "orchard-window-42", admin=True)
        with running(db) as url:
            console.print(
                f"[bold]fieldsync demo[/bold]: server at {url}, database {db.display_url}"
            )
            phone = Device.login(Path(tmp) / "phone", url, "alice", "harbour-lantern-7")
            with _back_office(url) as office:
                for policy in Policy:
                    console.print(_play(policy, phone, office))
            phone.close()
        db.dispose()


def _back_office(url: str) -> httpx.Client:
    token = httpx.post(
        f"{url}/v1/auth/login", json={"username": "office", "password": "orchard-window-42"}
    ).json()["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})


def _play(policy: Policy, phone: Device, office: httpx.Client) -> Table:
    office.put("/v1/admin/entities/account", json={"on_conflict": policy.value}).raise_for_status()
    phone.sync()
    ids = [
        phone.create("account", {"name": f"Acme {i}", "city": "Bratislava"})
        for i, _ in enumerate(CASES)
    ]
    phone.sync()
    for case, record_id in zip(CASES, ids, strict=True):
        _edit_both(case, record_id, phone, office)
    report = phone.sync()
    table = Table(title=f"On Conflict: {policy.value}", title_justify="left")
    for column in (
        "device / server",
        "device did",
        "server did",
        "result",
        "server after",
        "device after",
    ):
        table.add_column(column)
    statuses = _statuses(office, ids)
    for case, record_id in zip(CASES, ids, strict=True):
        table.add_row(
            case.title,
            "deleted" if case.device_deletes else _assignments(DEVICE_EDIT),
            "deleted" if case.server_deletes else _assignments(SERVER_EDIT),
            statuses.get(record_id, ""),
            _server_values(office, record_id),
            _show(phone.get("account", record_id)),
        )
    if policy is Policy.USER_ACTION:
        table.caption = _settle_user_action(phone, office, report.conflicts)
    return table


def _edit_both(case: Case, record_id: str, phone: Device, office: httpx.Client) -> None:
    if case.device_deletes:
        phone.delete("account", record_id)
    else:
        phone.update("account", record_id, DEVICE_EDIT)
    path = f"/v1/entities/account/records/{record_id}"
    if case.server_deletes:
        office.delete(path).raise_for_status()
    else:
        office.patch(path, json=SERVER_EDIT).raise_for_status()


def _statuses(office: httpx.Client, ids: list[str]) -> dict[str, str]:
    entries = office.get("/v1/admin/conflicts", params={"limit": 50}).json()["conflicts"]
    return {e["record_id"]: e["outcome"] for e in entries if e["record_id"] in ids}


def _server_values(office: httpx.Client, record_id: str) -> str:
    body = office.get(f"/v1/entities/account/records/{record_id}").json()
    return "(deleted)" if body["deleted"] else _show(body["record"])


def _assignments(values: dict[str, str]) -> str:
    return " ".join(f"{f}={v}" for f, v in values.items())


def _show(values: dict[str, Any] | None) -> str:
    if values is None:
        return "(deleted)"
    return " ".join(f"{f}={values.get(f) or '-'}" for f in ("city", "phone"))


def _settle_user_action(phone: Device, office: httpx.Client, conflicts: int) -> str:
    errors = phone.errors()
    for error in errors:
        phone.resolve(error["id"], "device")
    report = phone.sync()
    words = "; ".join(f"{e['what']}: {e['choices']['device']}" for e in errors)
    return (
        f"{conflicts} open conflicts shown in Sync errors; the user chose the device "
        f"version for each ({words}); next sync: {report.device_wins} applied as device wins"
    )
