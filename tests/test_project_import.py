"""`fieldsync project import` of a file that is not a valid project: one clear line, exit 1,
and the project unchanged; names longer than the database takes are refused everywhere."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from conftest import Server
from fieldsync.cli.main import app
from fieldsync.project import NAME_LENGTH
from fieldsync.server.schema import journal, records, scope_exits

runner = CliRunner()


def import_refused(project: Path, server: Server) -> str:
    """The one line `project import` prints, having checked it failed cleanly."""
    result = runner.invoke(app, ["project", "import", str(project), "--db", server.db.url])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


def project_version(crm: httpx.Client) -> int:
    return int(crm.get("/v1/project").json()["version"])


def exported(crm: httpx.Client) -> dict[str, object]:
    project: dict[str, object] = crm.get("/v1/project").json()
    return project


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("entities:\n  - name: account\n    fields: [\n", "line 4, column 1"),
        ("entities:\n  - name: [account\n  label: x\n", "line 3, column 8"),
        ("- name: account\n- name: contact\n", "not a list"),
        ("just words\n", "not a text"),
        ("", "is empty"),
        ("entities: account\n", "entities must be a list"),
        ("entities:\n  - account\n", "entities[1] must be a mapping"),
        ("entities:\n  - name: account\n    fields: phone\n", "fields of account must be a list"),
        ("entities:\n  - name: account\n    fields: [phone]\n", "fields[1] of account"),
        ("version: two\nentities: []\n", "version must be a whole number"),
        ("version: 3\n", "has no `entities:` list"),
    ],
)
def test_a_malformed_project_file_is_one_line_saying_where(
    server: Server, crm: httpx.Client, tmp_path: Path, text: str, expected: str
) -> None:
    project = tmp_path / "project.yaml"
    project.write_text(text)
    out = import_refused(project, server)
    assert expected in out
    if "line" in expected:
        assert "project.yaml" in out
    assert project_version(crm) == 1


def test_a_missing_project_file_is_one_line(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    out = import_refused(tmp_path / "nosuch.yaml", server)
    assert "nosuch.yaml" in out
    assert "no such file" in out.lower()
    assert "cannot read" in import_refused(tmp_path, server)  # a directory
    assert project_version(crm) == 1


def test_names_longer_than_the_database_takes_are_refused_on_import(
    server: Server, crm: httpx.Client, tmp_path: Path
) -> None:
    assert (
        min(
            t.length
            for t in (records.c.entity.type, journal.c.entity.type, scope_exits.c.entity.type)
        )
        >= NAME_LENGTH
    )
    data = exported(crm)
    long_name = "e" * (NAME_LENGTH + 1)
    entity = {"name": long_name, "fields": [{"name": "title", "type": "string"}]}
    data["entities"] = [*data["entities"], entity]  # type: ignore[misc]
    project = tmp_path / "project.yaml"
    project.write_text(yaml.safe_dump(data))
    out = import_refused(project, server)
    assert f"at most {NAME_LENGTH} characters" in out
    entity["name"] = "e" * NAME_LENGTH  # the longest a record of it can be stored with
    project.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["project", "import", str(project), "--db", server.db.url])
    assert result.exit_code == 0, result.output
    created = crm.post(f"/v1/entities/{entity['name']}/records", json={"title": "Fits"})
    assert created.status_code == 201, created.text


def test_long_field_names_are_refused_by_the_admin_api(crm: httpx.Client) -> None:
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    long_field = {"name": "f" * (NAME_LENGTH + 1), "type": "string"}
    response = crm.put("/v1/admin/entities/account", json={"fields": [*fields, long_field]})
    assert response.status_code == 422, response.text
    assert f"at most {NAME_LENGTH} characters" in response.json()["error"]["message"]
    assert project_version(crm) == 1
