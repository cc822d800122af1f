"""`Device`: one field worker's device — a local store, offline edits, sync, Sync errors."""

from __future__ import annotations

import shutil
import sqlite3
import ssl
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fieldsync.conflicts import Choice
from fieldsync.device import address, browse, edits, engine, sync_errors
from fieldsync.device.browse import Item
from fieldsync.device.client import Client
from fieldsync.device.report import Progress, SyncReport, no_progress
from fieldsync.device.store import SYNCED, Store, loads
from fieldsync.errors import Missing, NotLoggedIn, StateConflict, ValidationFailed
from fieldsync.project import Entity, Project

CA_FILE = "server-ca.pem"  # in the device directory: the private CA given at login


class Device:
    """A device directory: open it, edit offline, `sync()`, and settle its Sync errors."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.store = Store(self.directory)

    @classmethod
    def login(
        cls,
        directory: str | Path,
        server: str,
        username: str,
        password: str,
        ca_file: str | Path | None = None,
        *,
        discard_unsynced: bool = False,
    ) -> Device:
        """Log a device directory in to a server and download the project.

        `ca_file` (PEM) is the one CA trusted for the server's certificate from now on,
        kept in the directory; without it, the system's CAs are. Plain HTTP to another
        machine than this one warns (a UserWarning). Another user than the last one gets
        a new device id and none of the previous user's records (their own download
        follows at the first sync). That is refused while the previous user has unsynced
        changes here, unless `discard_unsynced`.
        """
        server = address.server_url(server)
        warning = address.plain_http_warning(server)
        if warning is not None:
            warnings.warn(warning, stacklevel=2)
        ca = None if ca_file is None else _checked_ca(Path(ca_file))
        device = cls(directory)
        previous = device.store.get_meta("user")
        switching = previous is not None and previous["username"] != username
        if switching and not discard_unsynced:
            device._refuse_losing_changes(previous["username"], username)
        kept_id = None if switching else device.store.get_meta("device_id")
        device_id = kept_id or str(uuid.uuid4())
        anonymous = Client(server, ca_file=ca)
        try:
            answer = anonymous.call(
                "POST",
                "/v1/auth/login",
                {"username": username, "password": password, "device_id": device_id},
            )
        finally:
            anonymous.close()
        with device.store.transaction() as conn:
            if switching:
                device.store.forget_records(conn)
            for key, value in {
                "server": server,
                "token": answer["token"],
                "user": answer["user"],
                "device_id": device_id,
            }.items():
                device.store.set_meta(conn, key, value)
            device._trust(conn, ca)
        with device._client() as client:
            engine.refresh_project(device.store, client)
        return device

    def _trust(self, conn: sqlite3.Connection, ca: str | None) -> None:
        """Keep a copy of the CA given at login, or forget the one of an earlier login."""
        if ca is None:
            conn.execute("DELETE FROM meta WHERE key = 'ca_file'")
            return
        kept = self.directory / CA_FILE
        if Path(ca).resolve() != kept.resolve():
            shutil.copyfile(ca, kept)
        self.store.set_meta(conn, "ca_file", CA_FILE)

    @property
    def trusted_ca(self) -> Path | None:
        """The private CA this directory trusts for its server (kept at login), if any."""
        ca_file = self.store.get_meta("ca_file")
        return None if ca_file is None else self.directory / ca_file

    def _refuse_losing_changes(self, previous: str, username: str) -> None:
        """Refuse a switch of user that would drop changes the server has not taken yet."""
        rows = self.store.conn.execute(
            "SELECT entity, count(*) FROM records WHERE state != ? GROUP BY entity ORDER BY entity",
            (SYNCED,),
        )
        unsynced = {entity: int(count) for entity, count in rows}
        if not unsynced:
            return
        total = sum(unsynced.values())
        counts = ", ".join(f"{entity} {count}" for entity, count in unsynced.items())
        raise StateConflict(
            f"{previous} has {total} unsynced change{'s' if total > 1 else ''} ({counts}) "
            f"that logging in as {username} would lose: sync first (and settle Sync errors), "
            "or discard them",
            code="unsynced_changes",
            details={"user": previous, "unsynced": unsynced},
        )

    def _client(self) -> _Session:
        server, token = self.store.get_meta("server"), self.store.get_meta("token")
        if server is None or token is None:
            raise NotLoggedIn(f"{self.directory} is not logged in; run `fieldsync device login`")
        ca = self.trusted_ca
        return _Session(Client(server, token, None if ca is None else str(ca)))

    @property
    def project(self) -> Project:
        """The project as last downloaded."""
        return self.store.project()

    @property
    def device_id(self) -> str:
        """This device's id."""
        return str(self.store.get_meta("device_id"))

    def entity(self, name: str) -> Entity:
        """An entity of the project, or a clear error."""
        entity = self.project.entity(name)
        if entity is None:
            names = ", ".join(e.name for e in self.project.entities)
            raise Missing(f"no entity {name!r}; there are: {names}", code="unknown_entity")
        return entity

    def create(self, entity: str, values: Mapping[str, Any]) -> str:
        """Create a record offline; returns its id."""
        return edits.create(self.store, self.entity(entity), dict(values))

    def update(self, entity: str, record_id: str, values: Mapping[str, Any]) -> None:
        """Change fields of a record offline."""
        edits.update(self.store, self.entity(entity), record_id, dict(values))

    def delete(self, entity: str, record_id: str) -> None:
        """Delete a record offline."""
        edits.delete(self.store, self.entity(entity), record_id)

    def get(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """A record's values as the device shows them (None when absent or deleted here)."""
        row = self.store.row(entity, record_id)
        return None if row is None else loads(row["data"])

    def records(self, entity: str) -> dict[str, dict[str, Any]]:
        """Every live record of an entity on the device, by id."""
        rows = self.store.conn.execute(
            "SELECT id, data FROM records WHERE entity = ? AND data IS NOT NULL ORDER BY id",
            (self.entity(entity).name,),
        )
        return {r["id"]: loads(r["data"]) for r in rows}

    def browse(self, entity: str, search: str = "", limit: int = 50, offset: int = 0) -> list[Item]:
        """Live records of an entity with their sync state, unsynced first."""
        return browse.items(self.store, self.entity(entity).name, search, limit, offset)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per entity: live records, and records with unsynced changes."""
        return browse.counts(self.store)

    def status(self, entity: str, record_id: str) -> str | None:
        """The local state of a record: synced, created, updated or deleted."""
        row = self.store.row(entity, record_id)
        return None if row is None else str(row["state"])

    def unsynced(self) -> int:
        """How many records have changes not yet accepted by the server."""
        row = self.store.conn.execute(
            "SELECT count(*) FROM records WHERE state != ?", (SYNCED,)
        ).fetchone()
        return int(row[0])

    def sync(self, progress: Progress = no_progress) -> SyncReport:
        """Push, pull and checkpoint; raises Offline when the server is unreachable."""
        with self._client() as client:
            return engine.sync(self.store, client, progress)

    def errors(self) -> list[dict[str, Any]]:
        """Sync errors: open conflicts and rejected changes."""
        return sync_errors.listing(self.store)

    def conflict(self, conflict_id: str) -> dict[str, Any] | None:
        """One open conflict of Sync errors, if there is such."""
        return sync_errors.conflict(self.store, conflict_id)

    def error_count(self) -> int:
        """How many Sync errors there are."""
        return sync_errors.count(self.store)

    def resolve(
        self, conflict_id: str, use: Choice | str, picks: Mapping[str, Choice | str] | None = None
    ) -> None:
        """Decide an open conflict (device, server, or merge with per-field picks)."""
        choices = {f: Choice(side) for f, side in (picks or {}).items()}
        sync_errors.resolve(self.store, conflict_id, Choice(use), choices)

    def resolve_all(self, use: Choice | str) -> int:
        """The same choice for every undecided conflict; returns how many."""
        return sync_errors.resolve_all(self.store, Choice(use))

    def retry(self, entity: str, record_id: str) -> None:
        """Send a rejected change again at the next sync."""
        sync_errors.retry(self.store, entity, record_id)

    def discard(self, entity: str, record_id: str) -> None:
        """Drop a rejected change and return to the server's version."""
        sync_errors.discard(self.store, entity, record_id)

    def close(self) -> None:
        """Close the local store."""
        self.store.close()


def _checked_ca(path: Path) -> str:
    """`path` when it holds CA certificates TLS can load; a ValidationFailed otherwise."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as failure:
        raise ValidationFailed(
            "bad_ca_file", f"{path} is not a readable PEM file of CA certificates: {failure}"
        ) from None
    return str(path)


class _Session:
    """A client that closes its connection when the `with` block ends."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __enter__(self) -> Client:
        return self.client

    def __exit__(self, *_exc: object) -> None:
        self.client.close()
