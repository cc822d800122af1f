"""Schema migrations on both backends: a new database is created, an older one upgraded."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from fieldsync.cli.main import app
from fieldsync.server import (
    bulk,
    cursors,
    fingerprints,
    journal,
    ledger,
    migrate,
    projects,
    pull,
    push,
    users,
)
from fieldsync.server import records as record_store
from fieldsync.server.db import Database
from fieldsync.server.migrate import SchemaOutdated
from fieldsync.server.schema import counters, metadata, records
from fieldsync.server.schema import journal as journal_table
from fieldsync.wire import PushIn
from helpers import create_batch

runner = CliRunner()


def test_the_schema_module_matches_the_newest_migration(empty_db: Database) -> None:
    migrate.upgrade(empty_db.engine)
    with empty_db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def older_database(db: Database, revision: str = migrate.FIRST) -> None:
    """A database as an earlier release left it (the first one's schema by default),
    with a user and the project."""
    migrate.upgrade(db.engine, revision)
    with db.engine.begin() as conn:
        conn.execute(sa.insert(counters).values(name="version", value=0))
        projects.seed(conn)
        users.add(conn, "alice", "secret")


def test_an_older_database_is_refused_until_it_is_upgraded(empty_db: Database) -> None:
    older_database(empty_db)
    with pytest.raises(SchemaOutdated, match="fieldsync db upgrade"):
        empty_db.prepare()
    refused = runner.invoke(app, ["serve", "--db", empty_db.url])
    assert refused.exit_code == 1
    assert "run `fieldsync db upgrade`" in refused.output
    upgraded = runner.invoke(app, ["db", "upgrade", "--db", empty_db.url])
    assert upgraded.exit_code == 0, upgraded.output
    empty_db.prepare()  # no longer refused
    with empty_db.read() as conn:
        assert migrate.current(conn) == migrate.head()
        assert users.check_password(conn, "alice", "secret").username == "alice"
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("records")}
    assert "records_tombstones" in indexes


def test_a_database_made_before_migrations_is_taken_as_the_first_schema(
    empty_db: Database,
) -> None:
    older_database(empty_db)
    with empty_db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
    empty_db.prepare(upgrade=True)
    with empty_db.read() as conn:
        assert migrate.current(conn) == migrate.head()
        assert users.check_password(conn, "alice", "secret").username == "alice"


def test_a_new_database_is_created_at_the_newest_schema(empty_db: Database) -> None:
    empty_db.prepare()
    with empty_db.read() as conn:
        assert migrate.current(conn) == migrate.head()
        assert projects.current(conn).version == 1


def _answered_at_0006(db: Database, body: PushIn, results: list[dict[str, object]]) -> None:
    """A batch in the ledger as fieldsync stored it before 0007: results as JSON."""
    fingerprint = fingerprints.of(body)
    with db.engine.begin() as conn:
        alice = users.check_password(conn, "alice", "secret").user_id
        columns = "batch_id, user_id, device_id, request_hash, results, created_at"
        conn.execute(
            sa.text(f"INSERT INTO batches ({columns}) VALUES (:b, :u, :d, :h, :r, :at)"),
            {
                "b": body.batch_id,
                "u": alice,
                "d": body.device_id,
                "h": fingerprint,
                "r": orjson.dumps(results).decode(),
                "at": "2026-11-26T10:00:00.000000Z",
            },
        )


def test_a_batch_answered_before_the_ledger_was_compressed_gets_the_same_answer_after(
    empty_db: Database,
) -> None:
    older_database(empty_db, "0006")
    created, refused = str(uuid.uuid4()), str(uuid.uuid4())
    body = PushIn.model_validate(create_batch(str(uuid.uuid4()), created, refused))
    error = {"code": "missing_parent", "message": "no such parent", "details": None}
    results: list[dict[str, object]] = [
        {"change_id": "c0", "status": "applied", "version": 1, "record": {"name": "Once"},
         "deleted": False, "conflict_id": None, "error": None},
        {"change_id": "c1", "status": "rejected", "version": None, "record": None,
         "deleted": False, "conflict_id": None, "error": error},
    ]  # fmt: skip
    _answered_at_0006(empty_db, body, results)
    migrate.upgrade(empty_db.engine)
    with empty_db.read() as conn:
        alice = users.check_password(conn, "alice", "secret")
        refusals = ledger.rejected_changes(conn, body.device_id)
    resent = push.push(empty_db, alice, body)
    assert orjson.loads(resent) == results
    with empty_db.read() as conn:  # answered from the ledger: nothing was applied again
        assert conn.execute(sa.select(sa.func.count()).select_from(records)).scalar() == 0
    assert refusals == [{"at": "2026-11-26T10:00:00.000000Z", "change_id": "c1", "error": error}]
    with empty_db.engine.begin() as conn:  # and back, should the upgrade be undone
        config = Config()
        config.set_main_option("script_location", str(migrate.MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
        stored = conn.execute(sa.text("SELECT results FROM batches")).scalar_one()
    assert (orjson.loads(stored) if isinstance(stored, str) else stored) == results


LACKS = "~lacks"  # in D or base as stored from 0011 to 0013, the fields of S it lacks
SERVER = {"name": "Acme", "city": "Zilina", "phone": "200"}
RESULT = {"name": "Acme", "city": "Kosice", "phone": "200"}  # partial device wins


def _journal_entry(record_id: str) -> dict[str, Any]:
    """A resolved conflict, D, base and its result stored whole (as before 0011)."""
    return {
        "id": str(uuid.uuid4()), "entity": "account", "record_id": record_id,
        "change_id": "c0", "kind": "update_update", "policy": "partial_device_wins",
        "detection": "record", "status": "resolved", "outcome": "merged", "fields": ["city"],
        "base": {"name": "Acme", "city": "Bratislava", "phone": "100"}, "base_version": 1,
        "device": {"name": "Acme", "city": "Kosice", "phone": "100"}, "server": SERVER,
        "server_deleted": False, "server_version": 2, "result": RESULT, "user_id": "u",
        "device_id": "dev-1", "created_at": "2026-11-26T10:00:00.000000Z",
        "resolved_at": "2026-11-26T10:00:00.000000Z", "resolved_by": "u",
        "restored_at": None, "restored_by": None,
    }  # fmt: skip


def _store(conn: sa.Connection, entry: dict[str, Any]) -> None:
    bulk.insert(conn, journal_table, [entry])


# The journal's columns before 0014 added `result_version`.
BEFORE_0014 = [column for column in journal_table.c if column.name != "result_version"]


def _entries_before_0014(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Every journal entry by id, as the columns before 0014 hold it."""
    return {r["id"]: dict(r) for r in conn.execute(sa.select(*BEFORE_0014)).mappings()}


def _store_record(
    conn: sa.Connection, record_id: str, data: dict[str, Any], owner: str, version: int = 1
) -> None:
    """A record as a release of that schema wrote it (its write path takes versions
    from the newest schema's sequence)."""
    stamp = "2026-11-26T10:00:00.000Z"
    row = {"entity": "account", "id": record_id, "version": version, "owner_id": owner}
    row |= {"deleted": False, "data": data, "field_versions": dict.fromkeys(data, version)}
    row |= {"created_at": stamp, "updated_at": stamp, "updated_by": owner}
    bulk.insert(conn, records, [row])


def _as_differences(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the journal stored it from 0011 to 0013: D and base as the fields
    where they differ from S, with those of S they lack, and the result's differences."""
    server = entry["server"]

    def differences(values: dict[str, Any] | None) -> dict[str, Any] | None:
        if values is None:
            return None
        return {f: v for f, v in values.items() if f not in server or server[f] != v}

    def side(values: dict[str, Any] | None) -> dict[str, Any] | None:
        if values is None:
            return None
        return {**(differences(values) or {}), LACKS: [f for f in server if f not in values]}

    return entry | {
        "base": side(entry["base"]),
        "device": side(entry["device"]),
        "result": differences(entry["result"]),
    }


def test_a_journal_entry_stored_whole_reads_the_same_once_upgraded(empty_db: Database) -> None:
    older_database(empty_db, "0010")
    entry = _journal_entry(str(uuid.uuid4()))
    with empty_db.engine.begin() as conn:
        _store(conn, entry)
    migrate.upgrade(empty_db.engine)
    with empty_db.read() as conn:
        stored = journal.get(conn, entry["id"])
        kept = conn.execute(sa.select(journal_table.c.device, journal_table.c.result)).one()
    assert (kept.device, kept.result) == (entry["device"], RESULT)
    assert stored.to_wire()["result"] == RESULT
    assert (stored.row["base"], stored.row["device"]) == (entry["base"], entry["device"])
    assert journal.losing_values(stored) == {"city": "Zilina"}


def test_records_and_journal_entries_read_the_same_once_postgresql_keeps_json_as_text(
    empty_db: Database,
) -> None:
    older_database(empty_db, "0007")
    values = {"name": "Acme", "phone": "+421 900", "revenue": 12.5, "active": True}
    with empty_db.engine.begin() as conn:
        account = projects.current(conn).entity("account")
        assert account is not None
        alice = users.check_password(conn, "alice", "secret").user_id
        new_id = str(uuid.uuid4())
        _store_record(conn, new_id, {**dict.fromkeys(account.field_names), **values}, alice)
        entry = _journal_entry(new_id)
        _store(conn, entry)

    def read() -> tuple[dict[str, object], dict[str, object]]:
        with empty_db.read() as conn:
            stored = record_store.get(conn, "account", new_id)
            assert stored is not None
            return stored.to_wire(), _entries_before_0014(conn)[entry["id"]]

    before = read()
    migrate.upgrade(empty_db.engine)
    assert read() == before
    assert before[0]["record"] == {**dict.fromkeys(account.field_names), **values}
    _downgrade(empty_db, "0007")  # and back, should the upgrade be undone
    assert read()[0] == before[0]
    migrate.upgrade(empty_db.engine)  # and forward again
    assert read() == before


def _downgrade(db: Database, revision: str) -> None:
    with db.engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrate.MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_a_cursor_from_before_versions_came_from_a_sequence_still_receives_what_follows(
    empty_db: Database,
) -> None:
    older_database(empty_db, "0010")
    with empty_db.engine.begin() as conn:  # a record written as the counter's releases did
        alice = users.check_password(conn, "alice", "secret")
        _store_record(conn, str(uuid.uuid4()), {"name": "Before"}, alice.user_id, version=5)
        conn.execute(sa.update(counters).values(value=5))
        epoch = cursors.new_epoch(conn)
    migrate.upgrade(empty_db.engine)
    empty_db.prepare()
    pushed = str(uuid.uuid4())
    push.push(empty_db, alice, PushIn.model_validate(create_batch(str(uuid.uuid4()), pushed)))
    with empty_db.snapshot() as (conn, watermark):
        project = projects.current(conn)
        page = pull.pull(conn, alice, project, cursors.parse(f"{epoch}.5", epoch), watermark, 100)
    assert [(c["id"], c["version"]) for c in page.changes] == [(pushed, 6)]
    assert (page.cursor.version, page.more) == (6, False)


def test_journal_entries_stored_as_differences_are_stored_whole_once_upgraded(
    empty_db: Database,
) -> None:
    """Every record of an entry reads the same after 0013, stored whole (a missing one
    as SQL NULL), and the downgrade stores the differences again."""
    older_database(empty_db, "0012")
    resolved = _journal_entry(str(uuid.uuid4()))
    lacking = resolved | {"id": str(uuid.uuid4()), "base": {"name": "Acme"}}  # lacks fields of S
    deleted = resolved | {"id": str(uuid.uuid4()), "device": None, "base": None, "result": None}
    entries = [resolved, lacking, deleted]
    with empty_db.engine.begin() as conn:
        bulk.insert(conn, journal_table, [_as_differences(e) for e in entries])
    migrate.upgrade(empty_db.engine, "0013")
    with empty_db.read() as conn:
        stored = _entries_before_0014(conn)
        nulls = conn.execute(sa.text("SELECT count(*) FROM journal WHERE result IS NULL"))
        assert nulls.scalar_one() == 1
    assert stored == {e["id"]: e for e in entries}
    _downgrade(empty_db, "0012")
    with empty_db.read() as conn:
        assert _entries_before_0014(conn) == {e["id"]: _as_differences(e) for e in entries}


def test_an_entry_resolved_before_0014_has_its_result_version_where_nothing_was_written(
    empty_db: Database,
) -> None:
    """A result equal to S was not written: its version is S's. Any other result's
    version is unknown (NULL), as is an open entry's; the downgrade drops the column."""
    older_database(empty_db, "0013")
    merged = _journal_entry(str(uuid.uuid4()))  # written under a version nobody kept
    kept = merged | {"id": str(uuid.uuid4()), "outcome": "server_wins", "result": SERVER}
    deleted = kept | {"id": str(uuid.uuid4()), "server_deleted": True, "result": None}
    opened = merged | {"id": str(uuid.uuid4()), "status": "open", "outcome": "open"}
    opened |= {"result": None, "resolved_at": None, "resolved_by": None}
    entries = [merged, kept, deleted, opened]
    with empty_db.engine.begin() as conn:
        bulk.insert(conn, journal_table, entries)
    migrate.upgrade(empty_db.engine)
    with empty_db.read() as conn:
        query = sa.select(journal_table.c.id, journal_table.c.result_version)
        versions = {row.id: row.result_version for row in conn.execute(query)}
        assert _entries_before_0014(conn) == {e["id"]: e for e in entries}
    assert versions == {merged["id"]: None, kept["id"]: 2, deleted["id"]: 2, opened["id"]: None}
    _downgrade(empty_db, "0013")
    with empty_db.read() as conn:
        assert _entries_before_0014(conn) == {e["id"]: e for e in entries}
        columns = {c["name"] for c in sa.inspect(conn).get_columns("journal")}
    assert "result_version" not in columns


def test_an_entry_resolved_before_0014_whose_result_is_still_its_record_has_its_version(
    empty_db: Database,
) -> None:
    """A result equal to the record as it is now is still the current state: its version
    is the record's. A record changed since the resolution leaves it unknown (NULL)."""
    older_database(empty_db, "0013")
    current, changed, removed = (_journal_entry(str(uuid.uuid4())) for _ in range(3))
    removed |= {"kind": "delete_update", "device": None, "result": None}
    with empty_db.engine.begin() as conn:
        bulk.insert(conn, journal_table, [current, changed, removed])
        _store_record(conn, current["record_id"], RESULT, "u", version=7)
        _store_record(conn, changed["record_id"], {**RESULT, "phone": "555"}, "u", version=8)
        _store_record(conn, removed["record_id"], RESULT, "u", version=9)
        conn.execute(sa.update(records).where(records.c.version == 9).values(deleted=True))
    migrate.upgrade(empty_db.engine)
    with empty_db.read() as conn:
        query = sa.select(journal_table.c.id, journal_table.c.result_version)
        versions = {row.id: row.result_version for row in conn.execute(query)}
    assert versions == {current["id"]: 7, changed["id"]: None, removed["id"]: 9}
