"""Schema migrations (Alembic, both backends): which revision a database is at, and upgrades.

A new database is created at the newest revision on first start. An older one is
upgraded only when asked (`fieldsync db upgrade`, or `serve --upgrade`); until
then the server refuses to run on it rather than misread it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from fieldsync.errors import FieldsyncError

FIRST = "0001"
MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutdated(FieldsyncError):
    """The database was made by an older fieldsync and needs `fieldsync db upgrade`."""


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def head() -> str:
    """The newest revision this fieldsync knows."""
    script = ScriptDirectory.from_config(_config(None))  # type: ignore[arg-type]
    return str(script.get_current_head())


def current(conn: Connection) -> str | None:
    """The revision the database is at; None for an empty database."""
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None and sa.inspect(conn).has_table("records"):
        return FIRST  # made by create_all before migrations existed: the first schema
    return revision


def check(engine: Engine) -> None:
    """Refuse a database whose schema is older (or newer) than this fieldsync's."""
    with engine.connect() as conn:
        at = current(conn)
    if at is not None and at != head():
        raise SchemaOutdated(
            f"the database schema is at revision {at}, this fieldsync needs {head()}: "
            "back it up, then run `fieldsync db upgrade` (or `fieldsync serve --upgrade`)"
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision`, one process at a time."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7319)"))  # fieldsync migrations
        config = _config(conn)
        if MigrationContext.configure(conn).get_current_revision() is None and current(conn):
            command.stamp(config, FIRST)
        command.upgrade(config, revision)
