"""What the changes of one push batch share: the records they read and write, and
what each change met so far.

The records a batch touches are read ahead (`Read.of`), in a query per entity; the
writes are queued on the writer's `bulk.QueuedWrites` and written at the batch's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from fieldsync.conflicts import Status
from fieldsync.errors import Missing
from fieldsync.project import Entity, Project, SyncFilter
from fieldsync.server import journal, records
from fieldsync.server.records import StoredRecord
from fieldsync.server.users import Principal
from fieldsync.validation import lookups
from fieldsync.wire import ChangeIn


@dataclass
class Batch:
    """What the changes of one batch share: the records they touch, the writes they queue.

    Records and journal entries are queued on the writer's `bulk.QueuedWrites` and
    written at the batch's end; what the batch wrote so far it reads from the writer.
    """

    user: Principal
    device_id: str
    project: Project
    writer: records.Writer
    read: Read
    # The status each record's change met so far, `rejected` included.
    met: dict[tuple[str, str], Status] = field(default_factory=dict)

    @property
    def conn(self) -> Connection:
        """The batch's transaction."""
        return self.writer.writes.conn

    def record(self, entity: str, record_id: str) -> StoredRecord | None:
        """A record as this batch left it so far (the database's, until the batch wrote it)."""
        key = (entity, record_id)
        if key in self.writer.written:
            return self.writer.written[key]
        if key not in self.read.keys:
            found = records.get_many(self.conn, [key], lock=True).get(key)
            self.read.add(key, found)
        return self.read.found.get(key)

    def entity(self, name: str) -> Entity:
        """The synced entity called `name`, or a rejection."""
        entity = self.project.entity(name)
        if entity is None:
            raise Missing(f"there is no entity {name!r:.80}", code="unknown_entity")
        if entity.sync_filter is SyncFilter.NONE:
            raise Missing(f"{name} is not synchronized to devices", code="entity_not_synced")
        return entity


@dataclass
class Read:
    """What a batch read from the database: the records `found` among all the `keys` it
    read, and where the conflicts its changes resolve stand (`entries`)."""

    keys: set[tuple[str, str]]
    found: dict[tuple[str, str], StoredRecord]
    entries: dict[str, journal.EntryState]

    @classmethod
    def of(
        cls, conn: Connection, project: Project, device_id: str, changes: list[ChangeIn]
    ) -> Read:
        """The records the changes name and those their lookups point at, locked (see
        `Database.write_beside`), then the device's conflicts they resolve: in a query
        per entity and one for the conflicts.

        One query per record would cost a round trip each, and on PostgreSQL each
        would wait for the writes on their way.
        """
        keys = {(c.entity, c.id) for c in changes} | _parents(project, changes)
        resolved = [c.resolves for c in changes if c.resolves is not None]
        found = records.get_many(conn, list(keys), lock=True)
        entries = journal.states(conn, device_id, resolved) if resolved else []
        return cls(keys, found, {entry.id: entry for entry in entries})

    def add(self, key: tuple[str, str], record: StoredRecord | None) -> None:
        """Note a record read later (None: there is none)."""
        self.keys.add(key)
        if record is not None:
            self.found[key] = record


def _parents(project: Project, changes: list[ChangeIn]) -> set[tuple[str, str]]:
    """The records the changes' lookup fields point at (whatever their values, checked
    later)."""
    parents = set()
    for change in changes:
        entity = project.entity(change.entity)
        if entity is None or not entity.lookup_fields:
            continue
        for values in (change.fields, change.record or {}):
            for _name, target, target_id in lookups(entity, values):
                if isinstance(target_id, str):
                    parents.add((target, target_id))
    return parents
