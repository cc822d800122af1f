"""The CLI end to end: a real `fieldsync serve` process, devices driven by `fieldsync device`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from conftest import stopped
from fieldsync.cli import common
from fieldsync.device import Device
from fieldsync.server import cursors
from fieldsync.server.background import spawn
from fieldsync.server.db import Database
from helpers import cli


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`fieldsync serve` in its own process on a fresh SQLite file, with two users."""
    db = tmp_path / "crm.db"
    cli("user", "add", "alice", "--password", "harbour-lantern-7", "--db", str(db))
    cli("user", "add", "office", "--password", "orchard-window-42", "--admin", "--db", str(db))
    process, url = spawn(str(db))
    yield url, db
    process.terminate()
    stopped(process)


def test_a_field_worker_session_from_the_command_line(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, db = served
    phone = str(tmp_path / "phone")
    cli("project", "set", "account", "--on-conflict", "user_action", "--db", str(db))
    login(phone, url, "harbour-lantern-7")
    record_id = cli(
        "device",
        "create",
        "account",
        "name=Acme",
        "city=Bratislava",
        "employees=12",
        "--dir",
        phone,
    ).strip()
    summary = cli("device", "sync", "--dir", phone)
    assert "sync finished" in summary
    cli("device", "edit", "account", record_id, "city=Kosice", "--dir", phone)
    with _office(url) as office:
        office.patch(f"/v1/entities/account/records/{record_id}", json={"city": "Zilina"})
    report = json.loads(cli("device", "sync", "--dir", phone, "--json"))
    assert report["conflicts"] == 1
    errors = json.loads(cli("device", "errors", "--dir", phone, "--json"))
    assert [e["fields"] for e in errors] == [["city"]]
    table = cli("device", "errors", "--dir", phone)
    assert "Use device version" in table
    assert "Kosice" in table
    assert "Zilina" in table
    refused = cli("device", "resolve", "--all", "--use", "merge", "--dir", phone, ok=False)
    assert "merge one conflict at a time" in refused
    assert json.loads(cli("device", "errors", "--dir", phone, "--json"))[0]["choice"] is None
    cli("device", "resolve", errors[0]["id"], "--use", "device", "--dir", phone)
    assert json.loads(cli("device", "sync", "--dir", phone, "--json"))["device_wins"] == 1
    shown = json.loads(cli("device", "show", "account", record_id, "--dir", phone, "--json"))
    assert shown["city"] == "Kosice"
    assert shown["employees"] == 12
    with _office(url) as office:
        stored = office.get(f"/v1/entities/account/records/{record_id}").json()
    assert stored["record"]["city"] == "Kosice"
    listing = cli("device", "list", "account", "--dir", phone)
    assert "Acme" in listing


def test_device_errors_shows_before_mine_and_the_offices_per_field(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, db = served
    phone = str(tmp_path / "phone")
    cli("project", "set", "account", "--on-conflict", "user_action", "--db", str(db))
    login(phone, url, "harbour-lantern-7")
    fields = ("name=Acme", "city=Bratislava", "employees=12", "phone=555")
    record_id = cli("device", "create", "account", *fields, "--dir", phone).strip()
    cli("device", "sync", "--dir", phone)
    cli("device", "edit", "account", record_id, "city=Kosice", "employees=15", "--dir", phone)
    with _office(url) as office:
        office.patch(
            f"/v1/entities/account/records/{record_id}", json={"city": "Zilina", "name": "Acme SA"}
        )
    cli("device", "sync", "--dir", phone)
    table = cli("device", "errors", "--dir", phone, env={"COLUMNS": "120"})
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if line.count("│") == 6}
    assert [cell.strip() for cell in rows["city"].split("│")[1:6]] == [
        "city",
        "Bratislava",
        "Kosice",
        "Zilina",
        "both",
    ]
    assert [cell.strip() for cell in rows["employees"].split("│")[1:6]] == [
        "employees",
        "12",
        "15",
        "12",
        "you",
    ]
    assert [cell.strip() for cell in rows["name"].split("│")[1:6]] == [
        "name",
        "Acme",
        "Acme",
        "Acme SA",
        "office",
    ]
    assert "phone" not in rows  # unchanged fields are collapsed…
    assert "phone" in table.split("unchanged: ")[1]  # …into one line
    assert "--use merge --device-field city --device-field employees" in table
    [error] = json.loads(cli("device", "errors", "--dir", phone, "--json"))
    assert {c["field"]: c["changed_by"] for c in error["three_way"]}["name"] == "office"


def login(phone: str, url: str, password: str, *, ok: bool = True) -> str:
    return cli(
        "device",
        "login",
        "--dir",
        phone,
        "--server",
        url,
        "--user",
        "alice",
        "--password",
        password,
        ok=ok,
    )


def _office(url: str) -> httpx.Client:
    token = httpx.post(
        f"{url}/v1/auth/login", json={"username": "office", "password": "orchard-window-42"}
    ).json()["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})


def test_cli_errors_are_one_clear_line(served: tuple[str, Path], tmp_path: Path) -> None:
    url, _db = served
    phone = str(tmp_path / "phone")
    out = cli("device", "sync", "--dir", phone, ok=False)
    assert "not logged in" in out
    assert "wrong username or password" in login(phone, url, "nope", ok=False)
    login(phone, url, "harbour-lantern-7")
    assert "required" in cli("device", "create", "account", "city=X", "--dir", phone, ok=False)
    assert "must be a number" in cli(
        "device", "create", "account", "name=A", "revenue=lots", "--dir", phone, ok=False
    )
    assert "no entity" in cli("device", "list", "nosuch", "--dir", phone, ok=False)


def test_project_export_import_round_trip(tmp_path: Path) -> None:
    db = str(tmp_path / "crm.db")
    exported = tmp_path / "project.yaml"
    cli("project", "export", str(exported), "--db", db)
    data = yaml.safe_load(exported.read_text())
    assert [e["name"] for e in data["entities"]] == ["account", "contact", "appointment"]
    data["entities"][0]["on_conflict"] = "partial_device_wins"
    exported.write_text(yaml.safe_dump(data))
    assert "version 2" in cli("project", "import", str(exported), "--db", db)
    cli("project", "export", str(exported), "--db", db)
    assert (
        yaml.safe_load(exported.read_text())["entities"][0]["on_conflict"] == "partial_device_wins"
    )
    data["entities"][0]["on_conflict"] = "coin_flip"
    exported.write_text(yaml.safe_dump(data))
    assert "on_conflict must be one of" in cli(
        "project", "import", str(exported), "--db", db, ok=False
    )


def test_project_set_refuses_an_unknown_policy(tmp_path: Path) -> None:
    out = cli(
        "project",
        "set",
        "account",
        "--on-conflict",
        "coin_flip",
        "--db",
        str(tmp_path / "x.db"),
        ok=False,
    )
    assert "on_conflict must be one of" in out


def test_demo_shows_every_policy_and_delete_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.console, "width", 160)  # a terminal wide enough for one line a case
    out = cli("demo")
    for policy in ("server_wins", "partial_device_wins", "full_device_wins", "user_action"):
        assert f"On Conflict: {policy}" in out
    for case in ("edit / edit", "edit / delete", "delete / edit"):
        assert out.count(case) == 4
    assert "3 open conflicts shown in Sync errors" in out


def test_db_commands_vacuum_and_restored(tmp_path: Path) -> None:
    db = str(tmp_path / "crm.db")
    assert "schema at revision" in cli("db", "upgrade", "--db", db)
    assert "purged 0 tombstones" in cli("db", "vacuum", "--older-than-days", "30", "--db", db)
    before = Database(db)
    with before.read() as conn:
        old_epoch = cursors.epoch(conn)
    before.dispose()
    assert "every device will re-download" in cli("db", "restored", "--db", db)
    after = Database(db)
    with after.read() as conn:
        assert cursors.epoch(conn) != old_epoch
    after.dispose()


def test_token_revoke_signs_a_user_or_a_device_out(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, db = served
    phone, tablet = str(tmp_path / "phone"), str(tmp_path / "tablet")
    login(phone, url, "harbour-lantern-7")
    login(tablet, url, "harbour-lantern-7")
    device_id = Device(phone).device_id
    assert "revoked 1 token" in cli("token", "revoke", "--device", device_id, "--db", str(db))
    assert "log in again" in cli("device", "sync", "--dir", phone, ok=False)
    cli("device", "sync", "--dir", tablet)  # the other device is still signed in
    assert "revoked 1 token" in cli("token", "revoke", "--user", "alice", "--db", str(db))
    assert "log in again" in cli("device", "sync", "--dir", tablet, ok=False)
    assert "give --user or --device" in cli("token", "revoke", "--db", str(db), ok=False)


def test_device_sync_tells_the_records_and_megabytes_it_downloaded(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, _db = served
    phone, tablet = str(tmp_path / "phone"), str(tmp_path / "tablet")
    login(phone, url, "harbour-lantern-7")
    for n in range(3):
        cli("device", "create", "account", f"name=Acme {n}", "--dir", phone)
    cli("device", "sync", "--dir", phone)
    login(tablet, url, "harbour-lantern-7")
    summary = cli("device", "sync", "--dir", tablet)
    assert "pulled 3 (0.0 MB downloaded)" in summary
    report = json.loads(cli("device", "sync", "--dir", tablet, "--json"))
    assert report["pulled"] == 0
    assert report["downloaded"] > 0  # the empty page that says so


WITHOUT_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = None; "  # as if fieldsync[postgresql] were not installed
    "from fieldsync.cli.main import app; app()"
)


@pytest.mark.parametrize(
    "command",
    [["serve"], ["db", "upgrade"], ["user", "add", "office", "--password", "a long passphrase"]],
)
def test_a_postgresql_url_without_the_driver_names_the_extra_to_install(
    command: list[str],
) -> None:
    url = "postgresql://fieldsync@127.0.0.1/crm"
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG, *command, "--db", url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1
    assert "pip install 'fieldsync[postgresql]'" in ran.stderr + ran.stdout
    assert "Traceback" not in ran.stderr


WITHOUT_THE_SERVER = (
    "import sys; "
    "sys.modules.update(dict.fromkeys(['sqlalchemy', 'alembic', 'argon2', 'uvicorn'])); "
    "from fieldsync.cli.main import app; app()"
)


def test_device_commands_start_without_the_servers_libraries(tmp_path: Path) -> None:
    """A phone's or a laptop's `fieldsync device …` loads no database server code."""
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_SERVER, "device", "sync", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1
    assert "Traceback" not in ran.stderr, ran.stderr
    assert "is not logged in" in ran.stdout + ran.stderr
