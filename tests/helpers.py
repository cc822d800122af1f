"""Helpers for end-to-end tests: the back office over the records and admin APIs, the
console in a browser, the CLI in this process."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page
from typer.testing import CliRunner

from conftest import BACKENDS
from fieldsync.cli.main import app
from fieldsync.device import Device

runner = CliRunner()

# For tests of what lies above storage (the browser UIs, HTTP codings, proxies and TLS, the
# OpenAPI document): their server runs once, on the first backend, not once per backend.
one_backend = pytest.mark.parametrize("backend_db", BACKENDS[:1], indirect=True)


def cli(*args: str, ok: bool = True, env: dict[str, str] | None = None) -> str:
    """Run a `fieldsync` command in this process; its output. `ok`: exit 0 expected;
    `env` adds to the environment."""
    result = runner.invoke(app, list(args), catch_exceptions=False, env=env)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result.output


def log_in(page: Page, url: str, username: str = "admin", password: str = "secret") -> None:
    """Log in to the admin console in a browser tab."""
    page.goto(f"{url}/admin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def set_entity(admin: httpx.Client, entity: str, *, confirm: bool = False, **settings: Any) -> None:
    """Change an entity's settings; `confirm` for a change that breaks stored values."""
    params = {"confirm": "true"} if confirm else {}
    response = admin.put(f"/v1/admin/entities/{entity}", params=params, json=settings)
    assert response.status_code == 200, response.text


def server_record(admin: httpx.Client, record_id: str, entity: str = "account") -> dict[str, Any]:
    response = admin.get(f"/v1/entities/{entity}/records/{record_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def server_values(admin: httpx.Client, record_id: str, entity: str = "account") -> Any:
    body = server_record(admin, record_id, entity)
    return None if body["deleted"] else body["record"]


def office_account(admin: httpx.Client, **values: Any) -> str:
    """An account the back office creates (every user's devices receive it); its id."""
    response = admin.post("/v1/entities/account/records", json=values)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def office_edit(
    admin: httpx.Client, record_id: str, entity: str = "account", **values: Any
) -> None:
    response = admin.patch(f"/v1/entities/{entity}/records/{record_id}", json=values)
    assert response.status_code == 200, response.text


def office_delete(admin: httpx.Client, record_id: str, entity: str = "account") -> None:
    response = admin.delete(f"/v1/entities/{entity}/records/{record_id}")
    assert response.status_code == 204, response.text


def journal(admin: httpx.Client, **filters: Any) -> list[dict[str, Any]]:
    response = admin.get("/v1/admin/conflicts", params=filters)
    assert response.status_code == 200, response.text
    return list(response.json()["conflicts"])


def synced_account(device: Device, **values: Any) -> str:
    record_id = device.create("account", {"name": "Acme", "city": "Bratislava", **values})
    device.sync()
    return record_id


def create_batch(device_id: str, *record_ids: str, name: str = "Once") -> dict[str, Any]:
    """A push body creating one account per id, under a new batch id."""
    return {
        "device_id": device_id,
        "batch_id": str(uuid.uuid4()),
        "changes": [
            {
                "change_id": f"c{i}",
                "entity": "account",
                "id": record_id,
                "op": "create",
                "fields": {"name": name},
            }
            for i, record_id in enumerate(record_ids)
        ],
    }


def pull_until_stopped(
    client: httpx.Client, stop: threading.Event, seen: dict[str, int], errors: list[str]
) -> None:
    """Page through the changes (pages of 7) again and again until `stop` is set, then to
    the end once more: each record's last version in `seen`; a failed pull, or a page out
    of the order of versions, in `errors`."""
    cursor, last = "", 0
    while True:
        finished = stop.is_set()  # read before the pull: one more full drain after the end
        more = True
        while more:
            response = client.get("/v1/sync/pull", params={"cursor": cursor, "limit": 7})
            if response.status_code != 200:
                errors.append(response.text)
                return
            page = response.json()
            versions = [c["version"] for c in page["changes"]]
            if versions != sorted(versions) or (versions and versions[0] <= last):
                errors.append(f"out of order after {last}: {versions}")
            for change in page["changes"]:
                seen[change["id"]] = change["version"]
            last = versions[-1] if versions else last
            cursor, more = page["cursor"], page["more"]
        if finished:
            return


def server_versions(admin: httpx.Client, entity: str = "account") -> dict[str, int]:
    """Every record of `entity` on the server (deleted ones too): its version."""
    found: dict[str, int] = {}
    offset: int | None = 0
    while offset is not None:
        listed = admin.get(
            f"/v1/entities/{entity}/records", params={"limit": 1000, "offset": offset}
        )
        assert listed.status_code == 200, listed.text
        body = listed.json()
        found |= {r["id"]: r["version"] for r in body["records"]}
        offset = body["next_offset"]
    return found


# The account every policy test starts from (`start`), whole: the demo project's fields,
# those it does not set null.
ACCOUNT_FIELDS = (
    "name",
    "phone",
    "email",
    "street",
    "city",
    "zip",
    "country",
    "revenue",
    "employees",
    "industry",
    "description",
    "active",
)
START = {"name": "Acme", "city": "Bratislava", "phone": "100"}


def full(**changes: Any) -> dict[str, Any]:
    """The whole `START` account, with `changes`."""
    return {**dict.fromkeys(ACCOUNT_FIELDS), **START, **changes}


# Both sides edit the `START` account (the device sets city=Kosice; the office sets
# city=Zilina phone=200): each policy's outcome and the record both sides hold after.
UPDATE_UPDATE = [
    ("server_wins", "server_wins", full(city="Zilina", phone="200")),
    ("partial_device_wins", "merged", full(city="Kosice", phone="200")),
    ("full_device_wins", "device_wins", full(city="Kosice", phone="100")),
]


# Values a form must not touch when the user changes something else: a retired
# picklist value, line breaks (also CR LF and a leading one), surrounding spaces,
# a zero, a false, a null, a decimal, a date, a datetime with an offset.
AWKWARD = {
    "name": "  Acme  ",
    "phone": "100",
    "email": None,
    "street": "Main St 1\nBuilding B",
    "city": "Bratislava",
    "zip": None,
    "country": None,
    "revenue": 1234.5,
    "employees": 0,
    "industry": "Retail",
    "description": "\nFirst line\r\nsecond line\n",
    "active": False,
    "founded": "1999-12-31",
    "visited": "2026-11-26T09:30:00+02:00",
}


def awkward_account(admin: httpx.Client) -> str:
    """An account holding `AWKWARD`, whose industry "Retail" is then retired from the options."""
    fields = admin.get("/v1/admin/entities/account").json()["fields"]
    added = [
        {"name": "founded", "type": "date", "label": "Founded"},
        {"name": "visited", "type": "datetime", "label": "Visited"},
    ]
    set_entity(admin, "account", fields=fields + added)
    created = admin.post("/v1/entities/account/records", json=AWKWARD)
    assert created.status_code == 201, created.text
    retired = [
        f | {"options": [o for o in f["options"] if o != "Retail"]}
        if f["name"] == "industry"
        else f
        for f in fields
    ]
    set_entity(admin, "account", confirm=True, fields=retired + added)
    return str(created.json()["id"])
