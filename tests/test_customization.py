"""Destructive customization (a field or entity dropped, values that no longer fit) is
refused unless confirmed after a dry run; additive changes go through as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conftest import Server
from fieldsync.server import records
from helpers import cli, office_edit, server_values, set_entity, synced_account

ACCOUNT = "/v1/admin/entities/account"


def account_fields(crm: httpx.Client) -> list[dict[str, Any]]:
    return list(crm.get(ACCOUNT).json()["fields"])


def changed(fields: list[dict[str, Any]], name: str, **rules: Any) -> list[dict[str, Any]]:
    return [f | rules if f["name"] == name else f for f in fields]


def without(fields: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [f for f in fields if f["name"] != name]


def version(crm: httpx.Client) -> int:
    return int(crm.get("/v1/project").json()["version"])


def test_dropping_a_field_records_hold_is_refused_with_what_it_would_break(
    server: Server, crm: httpx.Client
) -> None:
    device = server.device("phone", "alice")
    record_id = synced_account(device, phone="555")
    before = version(crm)

    refused = crm.put(ACCOUNT, json={"fields": without(account_fields(crm), "phone")})

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "destructive_change"
    assert "account.phone dropped: values of 1 record are given up" in error["message"]
    [breakage] = error["details"]["breakages"]
    assert breakage | {"message": ""} == {
        "entity": "account",
        "field": "phone",
        "change": "field_dropped",
        "what": "dropped",
        "records": 1,
        "open_conflicts": 0,
        "devices": 1,
        "message": "",
    }
    assert error["details"]["devices"] == [device.device_id]
    assert "unknown to the server" in error["details"]["pending_edits"]
    assert version(crm) == before
    assert server_values(crm, record_id)["phone"] == "555"


def test_a_dry_run_shows_the_report_and_changes_nothing(server: Server, crm: httpx.Client) -> None:
    device = server.device("phone", "alice")
    synced_account(device, employees=40)
    before = version(crm)
    fields = changed(account_fields(crm), "employees", type="boolean")

    report = crm.put(ACCOUNT, params={"dry_run": "true"}, json={"fields": fields})

    assert report.status_code == 200
    body = report.json()
    assert body["destructive"] is True
    assert [(b["field"], b["what"], b["records"]) for b in body["breakages"]] == [
        ("employees", "type integer → boolean", 1)
    ]
    assert version(crm) == before
    assert crm.get(ACCOUNT).json()["fields"] == changed(fields, "employees", type="integer")


@pytest.mark.parametrize(
    ("stored", "rules", "what"),
    [
        ({"employees": 40}, {"name": "employees", "type": "date"}, "type integer → date"),
        ({"industry": "Retail"}, {"name": "industry", "options": ["Agriculture"]}, "options"),
        ({"city": "Bratislava"}, {"name": "city", "max_length": 5}, "max_length 80 → 5"),
        ({"zip": None}, {"name": "zip", "required": True}, "made required"),
    ],
)
def test_values_that_would_no_longer_fit_are_refused_until_confirmed(
    server: Server,
    crm: httpx.Client,
    stored: dict[str, Any],
    rules: dict[str, Any],
    what: str,
) -> None:
    record_id = synced_account(server.device("phone", "alice"), **stored)
    synced_account(server.device("tablet", "bob"), name="Fits", city="Nitra", zip="949 01")
    fields = changed(account_fields(crm), **rules)

    refused = crm.put(ACCOUNT, json={"fields": fields})

    assert refused.status_code == 409
    [breakage] = refused.json()["error"]["details"]["breakages"]
    assert (breakage["field"], breakage["change"], breakage["records"]) == (
        rules["name"],
        "field_changed",
        1,
    )
    assert what in breakage["what"]
    assert "no longer fit" in breakage["message"]

    applied = crm.put(ACCOUNT, params={"confirm": "true"}, json={"fields": fields})
    assert applied.status_code == 200, applied.text
    assert crm.get(ACCOUNT).json()["fields"] == fields
    assert server_values(crm, record_id)[rules["name"]] == next(iter(stored.values()))


def test_a_confirmed_drop_keeps_the_values_stored_and_devices_lose_the_field(
    server: Server, crm: httpx.Client
) -> None:
    device = server.device("phone", "alice")
    record_id = synced_account(device, phone="555")
    fields = without(account_fields(crm), "phone")

    applied = crm.put(ACCOUNT, params={"confirm": "true"}, json={"fields": fields})

    assert applied.status_code == 200
    assert [f["name"] for f in applied.json()["fields"]] == [f["name"] for f in fields]
    with server.db.read() as conn:  # the value stays stored until the record is next written
        stored = records.get(conn, "account", record_id)
    assert stored is not None
    assert stored.data["phone"] == "555"
    device.sync()
    assert device.entity("account").field("phone") is None
    device.update("account", record_id, {"city": "Kosice"})  # its base still holds phone
    assert device.sync().rejected == 0
    assert server_values(crm, record_id)["city"] == "Kosice"


def test_open_conflicts_on_a_dropped_field_are_counted(server: Server, crm: httpx.Client) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    device = server.device("phone", "alice")
    record_id = synced_account(device, phone="1")
    device.update("account", record_id, {"phone": "2"})
    office_edit(crm, record_id, phone="3")
    device.sync()  # an open User Action conflict on phone

    report = crm.put(
        ACCOUNT,
        params={"dry_run": "1"},
        json={"fields": without(account_fields(crm), "phone")},
    ).json()

    [breakage] = report["breakages"]
    assert (breakage["records"], breakage["open_conflicts"]) == (1, 1)
    assert "1 open conflict" in report["message"]


def test_additive_changes_need_no_confirmation(server: Server, crm: httpx.Client) -> None:
    device = server.device("phone", "alice")
    synced_account(device, industry="Retail", city="Bratislava", phone="555")
    fields = changed(account_fields(crm), "city", max_length=200)
    fields = changed(fields, "industry", options=["Agriculture", "Retail", "Mining"])
    fields = changed(fields, "phone", required=False, label="Telephone")
    fields = [*fields, {"name": "website", "type": "string", "max_length": 200}]

    assert crm.put(ACCOUNT, json={"fields": fields}).status_code == 200
    assert crm.put(ACCOUNT, json={"on_conflict": "user_action"}).status_code == 200
    assert crm.put(ACCOUNT, json={"sync_filter": "owned"}).status_code == 200
    assert crm.put(ACCOUNT, json={"conflict_detection": "field"}).status_code == 200
    report = crm.put(ACCOUNT, params={"dry_run": "true"}, json={"label": "Company"}).json()
    assert (report["destructive"], report["breakages"]) == (False, [])
    device.sync()
    assert device.entity("account").field("website") is not None


@pytest.mark.parametrize(
    "params",
    [{"confirm": "maybe"}, {"dry_run": "perhaps"}, {"dry_run": "true", "confirm": "true"}],
)
def test_bad_confirmation_params_are_refused_and_change_nothing(
    server: Server, crm: httpx.Client, params: dict[str, str]
) -> None:
    synced_account(server.device("phone", "alice"), phone="555")
    before = version(crm)

    refused = crm.put(
        ACCOUNT, params=params, json={"fields": without(account_fields(crm), "phone")}
    )

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] in ("invalid_request", "invalid_params")
    assert version(crm) == before


def test_importing_no_entities_is_refused_until_confirmed_after_a_dry_run(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    device = server.device("phone", "alice")
    record_id = synced_account(device)
    device.update("account", record_id, {"city": "Kosice"})  # pending on the device
    empty = tmp_path / "empty.yaml"
    empty.write_text(yaml.safe_dump({"entities": []}))
    db = server.db.url
    before = version(crm)

    refused = cli("project", "import", str(empty), "--db", db, ok=False)
    assert "destructive_change" in refused
    assert "account dropped: values of 1 record" in refused
    dry = cli("project", "import", str(empty), "--dry-run", "--db", db)
    assert "account dropped: values of 1 record will no longer be served" in dry
    assert "contact dropped: 1 device synced contact" in dry
    assert device.device_id in dry
    assert "nothing was published" in dry
    assert version(crm) == before
    device.sync()  # the pending edit still goes through
    assert server_values(crm, record_id)["city"] == "Kosice"

    assert "exclude each other" in cli(
        "project", "import", str(empty), "--dry-run", "--confirm", "--db", db, ok=False
    )
    assert "published" in cli("project", "import", str(empty), "--confirm", "--db", db)
    assert crm.get("/v1/project").json()["entities"] == []
    assert crm.get(f"/v1/entities/account/records/{record_id}").status_code == 404
    device.sync()
    assert device.project.entities == ()


def test_importing_an_additive_project_needs_no_confirmation(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    synced_account(server.device("phone", "alice"))
    exported = tmp_path / "project.yaml"
    db = server.db.url
    cli("project", "export", str(exported), "--db", db)
    data = yaml.safe_load(exported.read_text())
    data["entities"][0]["fields"].append({"name": "website", "type": "string"})
    data["entities"].append({"name": "visit", "fields": [{"name": "note", "type": "text"}]})
    exported.write_text(yaml.safe_dump(data))

    assert "nothing stored is broken" in cli(
        "project", "import", str(exported), "--dry-run", "--db", db
    )
    assert "published project version" in cli("project", "import", str(exported), "--db", db)
    assert [e["name"] for e in crm.get("/v1/project").json()["entities"]][-1] == "visit"
