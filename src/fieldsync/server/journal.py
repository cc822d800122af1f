"""The conflict journal: every conflict with base, device and server values, never lost.

An entry is written when a conflict is met. A User Action conflict starts `open`
and becomes `resolved` (or `superseded`, when the server changed the record again
before the choice arrived and a new conflict took its place).

Base, D (the device's record), S (the server's) and the result (the record as the
resolution left it; None while open, or when it left the record deleted) are each
stored whole, as JSON an admin can read with SQL. `result_version` is the record's
version the result was written under (S's when the resolution wrote nothing): a
device's edits made while the conflict was open are based on it. A superseded entry
has a result only when meeting D again with the newest server version left nothing
to decide and the server wrote that meeting's outcome at once (None and no version
when a new conflict took its place).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync import ids
from fieldsync.clock import now
from fieldsync.conflicts import ConflictState, Outcome, Situation, Status, differing
from fieldsync.errors import NotFound
from fieldsync.server import bulk
from fieldsync.server.schema import journal


@dataclass(frozen=True)
class JournalEntry:
    """One journal entry, as stored."""

    row: dict[str, Any]

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> JournalEntry:
        """An entry from a database row (whose keys may be str subclasses)."""
        return cls({str(k): v for k, v in row.items()})

    @property
    def id(self) -> str:
        """The entry's id, which is also the conflict id."""
        return str(self.row["id"])

    @property
    def is_open(self) -> bool:
        """True while a User Action conflict waits for a choice."""
        return bool(self.row["status"] == ConflictState.OPEN)

    @property
    def state(self) -> EntryState:
        """Where the entry stands (its `EntryState`)."""
        return EntryState._make(self.row[name] for name in _STATE_COLUMNS)

    def to_wire(self) -> dict[str, Any]:
        """The entry as the admin API shows it."""
        return dict(self.row)


class EntryState(NamedTuple):
    """Where an entry stands (open, resolved or superseded, and how), as a device's sync
    needs it: S is what a choice met; the result is what a resolution wrote, under
    `result_version` (None while open, and for entries resolved before it was kept)."""

    id: str
    entity: str
    record_id: str
    user_id: str
    device_id: str
    status: str
    outcome: str
    server: dict[str, Any]
    server_version: int
    result: dict[str, Any] | None
    result_version: int | None

    @property
    def is_open(self) -> bool:
        """True while a User Action conflict waits for a choice."""
        return self.status == ConflictState.OPEN


_STATE_COLUMNS = EntryState._fields


@dataclass(frozen=True)
class ConflictingChange:
    """A device's change that conflicted with the server's record: which record, whose
    change, made on which base, and the server's version it met."""

    entity: str
    record_id: str
    change_id: str | None
    base: Mapping[str, Any] | None
    base_version: int | None
    server_version: int
    user_id: str
    device_id: str


def new_entry(
    change: ConflictingChange, situation: Situation, outcome: Outcome, stamp: str, version: int
) -> dict[str, Any]:
    """The journal row of a conflict met at `stamp` (its `id` is the conflict id), whose
    outcome left the record at `version`."""
    is_open = outcome.status is Status.CONFLICT
    return {
        "id": ids.time_ordered(),  # new entries go to the end of the id index
        "entity": change.entity,
        "record_id": change.record_id,
        "change_id": change.change_id,
        "kind": situation.kind.value,
        "policy": situation.policy.value,
        "detection": situation.detection.value,
        "status": ConflictState.OPEN.value if is_open else ConflictState.RESOLVED.value,
        "outcome": "open" if is_open else outcome.status.value,
        "fields": sorted(outcome.fields),
        "base": _plain(change.base),
        "base_version": change.base_version,
        "device": _plain(situation.device),
        "server": _plain(situation.server),
        "server_deleted": situation.server_deleted,
        "server_version": change.server_version,
        "result": None if is_open else _plain(outcome.result),
        "result_version": None if is_open else version,
        "user_id": change.user_id,
        "device_id": change.device_id,
        "created_at": stamp,
        "resolved_at": None if is_open else stamp,
        "resolved_by": None if is_open else change.user_id,
        "restored_at": None,
        "restored_by": None,
    }


def _plain(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Values as a dict, as the JSON columns take them (copied only when not one)."""
    return values if values is None or isinstance(values, dict) else dict(values)


def queue(writes: bulk.QueuedWrites, entry: dict[str, Any]) -> None:
    """Queue a new journal row on `writes`."""
    writes.queue_insert(journal, entry)


def get(conn: Connection, entry_id: str) -> JournalEntry:
    """One entry, or 404."""
    entry = find(conn, entry_id)
    if entry is None:
        raise NotFound(f"no journal entry {entry_id!r:.80}", code="unknown_conflict")
    return entry


def find(conn: Connection, entry_id: str) -> JournalEntry | None:
    """One entry, if it exists."""
    row = conn.execute(sa.select(journal).where(journal.c.id == entry_id)).mappings().first()
    return JournalEntry.of(row) if row else None


def is_open(conn: Connection, entity: str, record_id: str) -> bool:
    """True when a record has an open conflict (on any device)."""
    query = sa.select(journal.c.id).where(
        journal.c.entity == entity,
        journal.c.record_id == record_id,
        journal.c.status == ConflictState.OPEN.value,
    )
    return conn.execute(query.limit(1)).first() is not None


def settle(
    writes: bulk.QueuedWrites,
    entry: EntryState,
    outcome: Outcome,
    user_id: str,
    *,
    version: int,
    device: Mapping[str, Any] | None = None,
) -> None:
    """Close an open conflict with the user's outcome (queued on `writes`), which left
    the record at `version`; `device`: D as the choice was made on it, when the device
    edited the record again while the conflict was open (the choice kept or dropped
    those edits too, so the journal keeps them)."""
    status = (ConflictState.RESOLVED, outcome.status.value)
    _close(writes, entry, user_id, device, status, (_plain(outcome.result), version))


def supersede(
    writes: bulk.QueuedWrites,
    entry: EntryState,
    user_id: str,
    device: Mapping[str, Any] | None = None,
    *,
    settled: tuple[Outcome, int] | None = None,
) -> None:
    """Close an open conflict that a newer server change overtook; `device` as in `settle`.

    `settled`: when D meeting the newest server version left nothing to decide, that
    meeting's outcome and the version it left the record at, kept as the entry's result.
    """
    superseded = ConflictState.SUPERSEDED
    result = (None, None) if settled is None else (_plain(settled[0].result), settled[1])
    _close(writes, entry, user_id, device, (superseded, superseded.value), result)


def _close(
    writes: bulk.QueuedWrites,
    entry: EntryState,
    user_id: str,
    device: Mapping[str, Any] | None,
    status: tuple[ConflictState, str],
    result: tuple[dict[str, Any] | None, int | None],
) -> None:
    """Queue an open entry's closing with its result and the version it left."""
    row = {
        "status": status[0].value,
        "outcome": status[1],
        "resolved_at": now(),
        "resolved_by": user_id,
        "result": result[0],
        "result_version": result[1],
        "id": entry.id,
    }
    if device is not None:
        row["device"] = _plain(device)
    writes.queue_update(journal, ("id",), row)


def mark_restored(conn: Connection, entry_id: str, user_id: str) -> None:
    """Note that the losing values of an entry were written back."""
    conn.execute(
        sa.update(journal)
        .where(journal.c.id == entry_id)
        .values(restored_at=now(), restored_by=user_id)
    )


def listing(
    conn: Connection, filters: Mapping[str, str | None], *, limit: int = 100, offset: int = 0
) -> list[JournalEntry]:
    """Entries newest first, filtered by any of entity, policy, outcome, status, device_id."""
    query = sa.select(journal).order_by(journal.c.created_at.desc(), journal.c.id)
    for name, value in filters.items():
        if value is not None:
            query = query.where(journal.c[name] == value)
    rows = conn.execute(query.limit(limit).offset(offset)).mappings()
    return [JournalEntry.of(r) for r in rows]


def states(conn: Connection, device_id: str, ids: list[str]) -> list[EntryState]:
    """Where the given entries of `device_id` stand (others are silently left out).

    Only the columns a sync needs, not base and D. Looked up by id alone: with the
    device in the query, SQLite scanned all the device's entries by its index instead."""
    rows = bulk.select_among(conn, journal, _STATE_COLUMNS, ("id", ids))
    found = [EntryState._make(row) for row in rows]
    return [_decoded(s) for s in found if s.device_id == device_id]


def _decoded(state: EntryState) -> EntryState:
    """A state with its JSON columns decoded."""
    return state._replace(
        server=bulk.json_value(state.server), result=bulk.json_value(state.result)
    )


def open_ones(
    conn: Connection, device_id: str, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The ids of the open conflicts `device_id` has on the records `keys` (entity, id)."""
    if not keys:
        return {}
    query = sa.select(journal.c.entity, journal.c.record_id, journal.c.id).where(
        journal.c.device_id == device_id,
        journal.c.status == ConflictState.OPEN.value,
        sa.tuple_(journal.c.entity, journal.c.record_id).in_(keys),
    )
    return {(entity, record_id): id_ for entity, record_id, id_ in conn.execute(query)}


def successor(conn: Connection, entry: JournalEntry) -> str | None:
    """The id of the conflict that took a superseded entry's place (the next one its
    device met on the same record), if there is one."""
    return _next_id(conn, entry.state)


def _next_id(conn: Connection, entry: EntryState) -> str | None:
    """The id of the next entry `entry`'s device met on the same record, if any."""
    created = sa.select(journal.c.created_at).where(journal.c.id == entry.id).scalar_subquery()
    query = (
        sa.select(journal.c.id)
        .where(
            journal.c.entity == entry.entity,
            journal.c.record_id == entry.record_id,
            journal.c.device_id == entry.device_id,
            journal.c.created_at >= created,
            journal.c.id != entry.id,
        )
        .order_by(journal.c.created_at, journal.c.id)
        .limit(1)
    )
    return conn.execute(query).scalar()


def ended_in(conn: Connection, entry: EntryState) -> EntryState | None:
    """Where a superseded entry's chain of successors ended: the first of them not
    superseded itself (None when there is none)."""
    seen = {entry.id}
    while entry.status == ConflictState.SUPERSEDED:
        next_id = _next_id(conn, entry)
        if next_id is None or next_id in seen:
            return None
        seen.add(next_id)
        [entry] = states(conn, entry.device_id, [next_id])
    return entry


def losing_values(entry: JournalEntry) -> dict[str, Any] | None:
    """The values that lost in a resolved entry, to be written back by a restore.

    When the server won, the device's changes lost (the fields D changed from base,
    or all of D when base is unknown); otherwise S's values that were overwritten.
    None when the losing side was a delete: there are no values to restore.
    """
    row = entry.row
    if row["outcome"] == Status.SERVER_WINS.value:
        loser, base = row["device"], row["base"]
        candidates = differing(base, loser) if base is not None and loser is not None else None
    else:
        loser = None if row["server_deleted"] else row["server"]
        candidates = None
    if loser is None:
        return None
    names = candidates if candidates is not None else frozenset(loser)
    # A superseded entry's result, if any, is what meeting D again wrote over a newer
    # server version, not over S: S is offered whole.
    result = row["result"] if row["status"] == ConflictState.RESOLVED else None
    if result is None:
        return dict(loser)
    return {f: loser.get(f) for f in names if loser.get(f) != result.get(f)}
