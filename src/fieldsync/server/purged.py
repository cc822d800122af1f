"""A pushed change that meets a record whose tombstone was purged.

A device has a base version only of records the server sent it: an edit or delete
with a base older than the tombstone horizon, of a record the server no longer
has, meets a stand-in for the record's purged tombstone (`records.purged`), as if
it were still there, so that the entity's policy holds as it did before the purge.
With a newer base, the server never had the record at that version.
"""

from __future__ import annotations

from fieldsync.project import Entity
from fieldsync.server import records, tombstones
from fieldsync.server.batch import Batch
from fieldsync.server.records import StoredRecord
from fieldsync.validation import check_values, normalize
from fieldsync.wire import ChangeIn


def stand_in(batch: Batch, entity: Entity, change: ChangeIn) -> StoredRecord | None:
    """The purged tombstone a change of a record the server no longer has meets: with
    the values the device last received (or, when the change settles an open conflict
    of the record, those the conflict met). None when the change's base is not older
    than the horizon (or it has none): the server never had the record."""
    if change.base_version is None:
        return None
    entry = batch.read.entries.get(change.resolves or "")
    if entry is not None and (entry.entity, entry.record_id) == (entity.name, change.id):
        return records.purged(
            entity.name, change.id, entry.server, entry.user_id, entry.server_version
        )
    horizon = tombstones.horizon(batch.conn)
    if change.base_version < horizon:
        last = normalize(entity, change.base or {})
        check_values(entity, last)  # S comes from the device here
        return records.purged(entity.name, change.id, last, batch.user.user_id, horizon)
    return None
