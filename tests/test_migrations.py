"""Schema migrations on both backends: a new database is created, an older one upgraded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from fieldsync.cli.main import app
from fieldsync.server import migrate, projects, users
from fieldsync.server.db import Database
from fieldsync.server.migrate import SchemaOutdated
from fieldsync.server.schema import counters, metadata

runner = CliRunner()


def test_the_schema_module_matches_the_newest_migration(empty_db: Database) -> None:
    migrate.upgrade(empty_db.engine)
    with empty_db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def older_database(db: Database) -> None:
    """A database as the first release left it: schema 0001 with a user and the project."""
    migrate.upgrade(db.engine, migrate.FIRST)
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
