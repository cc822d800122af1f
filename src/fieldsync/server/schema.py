"""The server's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

This is the schema at the newest migration (`migrations/versions/`); a test checks
that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# On PostgreSQL `json`, the text as written: nothing queries inside it (see 0008).
JSON = sa.JSON()
OPTIONAL_JSON = sa.JSON(none_as_null=True)  # None is SQL NULL, not JSON's null
Stamp = sa.String(40)  # ISO 8601 UTC, sortable as text

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(60), primary_key=True),
    sa.Column("value", JSON, nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", JSON, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Stamp, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("device_id", sa.String(100)),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
    sa.Column("revoked_at", Stamp),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("last_push_at", Stamp),
    sa.Column("last_pull_at", Stamp),
)

# Login attempts per throttled key (`throttle.py`): counted before the password is
# checked, in seconds since the epoch, shared by every server process.
login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("blocked_until", sa.Float, nullable=False),
    sa.Column("last_at", sa.Float, nullable=False),
    sa.Index("login_attempts_last", "last_at"),
)

# How many syncs each device finished on each day (UTC), for the console's dashboard.
sync_days = sa.Table(
    "sync_days",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("device_id", sa.String(100), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("syncs", sa.Integer, nullable=False),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("entity", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("owner_id", sa.String(36), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("data", JSON, nullable=False),
    sa.Column("field_versions", JSON, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("updated_by", sa.String(36), nullable=False),
    sa.Column("written_by_device", sa.String(100)),  # None: not a device push
    # Versions are unique (`Writer` takes them from one counter); this index guards that
    # per entity, and pulls walk it.
    sa.Index("records_entity_version", "entity", "version", unique=True),
    sa.Index("records_owner_entity_version", "owner_id", "entity", "version"),
    sa.Index(
        "records_tombstones",
        "updated_at",
        sqlite_where=sa.text("deleted = 1"),  # as SQLAlchemy writes `records.c.deleted`
        postgresql_where=sa.text("deleted"),
    ),
)

# A record whose owner changed leaves its old owner's scope: pulls of `owned`
# entities report it to that user as deleted.
scope_exits = sa.Table(
    "scope_exits",
    metadata,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(36), nullable=False),
    sa.Index("scope_exits_version", "version"),
)

# A published project that changed an entity's sync filter (an entity added or
# dropped counts, as `none` on the side it is missing from), under a version of the
# records' counter: pulls whose cursor is older send the difference (see `scopes`).
scope_changes = sa.Table(
    "scope_changes",
    metadata,
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("entity", sa.String(64), primary_key=True),
    sa.Column("old_filter", sa.String(10), nullable=False),
    sa.Column("new_filter", sa.String(10), nullable=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_id", sa.String(100), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("device_id", sa.String(100), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("answer", sa.LargeBinary, nullable=False),  # the results' JSON, zlib-compressed
    sa.Column("rejections", JSON),  # the rejected changes' ids and errors; NULL: none
    sa.Column("created_at", Stamp, nullable=False),
    sa.Index("batches_device", "device_id", "created_at"),
)

# The journal: every conflict, open or resolved, with the values of every side.
journal = sa.Table(
    "journal",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(36), nullable=False),
    sa.Column("change_id", sa.String(100)),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("policy", sa.String(30), nullable=False),
    sa.Column("detection", sa.String(10), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("fields", JSON, nullable=False),
    sa.Column("base", OPTIONAL_JSON),
    sa.Column("base_version", sa.BigInteger),
    sa.Column("device", OPTIONAL_JSON),
    sa.Column("server", JSON, nullable=False),
    sa.Column("server_deleted", sa.Boolean, nullable=False),
    sa.Column("server_version", sa.BigInteger, nullable=False),
    sa.Column("result", OPTIONAL_JSON),
    sa.Column("result_version", sa.BigInteger),  # the version the result was written under
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("device_id", sa.String(100), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("resolved_at", Stamp),
    sa.Column("resolved_by", sa.String(36)),
    sa.Column("restored_at", Stamp),
    sa.Column("restored_by", sa.String(36)),
    sa.Index("journal_device_status", "device_id", "status"),
    sa.Index("journal_created", "created_at"),
    sa.Index("journal_record", "entity", "record_id"),
)
