"""`POST /v1/sync/push`: a batch of device changes applied in one transaction, exactly once.

Each change is validated, met with the server's record, resolved by the pure core
(`fieldsync.conflicts`) under its entity's policy, written, and journaled when it
was a conflict. A rejected change never blocks the others. The batch id and its
results are stored in the same transaction (`ledger`), so a resent batch gets the
stored results and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from fieldsync import failpoints
from fieldsync.conflicts import (
    Choice,
    Op,
    Outcome,
    Situation,
    Status,
    Values,
    decide,
    differing,
    resolve,
)
from fieldsync.errors import (
    Conflict,
    Missing,
    PayloadTooLarge,
    Refused,
    StateConflict,
    Unprocessable,
    ValidationFailed,
)
from fieldsync.project import Entity
from fieldsync.server import (
    bulk,
    fingerprints,
    journal,
    ledger,
    parents,
    projects,
    purged,
    records,
    users,
)
from fieldsync.server.batch import Batch, Read
from fieldsync.server.db import Database
from fieldsync.server.records import StoredRecord
from fieldsync.server.schema import devices
from fieldsync.server.users import Principal
from fieldsync.validation import (
    check_required,
    check_values,
    checked_base,
    normalize,
)
from fieldsync.wire import MAX_CHANGES, ChangeIn, ChangeResult, ErrorBody, PushIn


def push(
    db: Database,
    user: Principal,
    body: PushIn,
    omit_as_sent: bool = False,
    devices_per_user: int = users.DEVICES_PER_USER,
) -> bytes:
    """Apply a batch once; returns its results as a JSON array. A batch id seen before
    returns the results stored the first time, byte for byte. With `omit_as_sent`, the
    records stored as their change sent them are left out (see `_omit_as_sent`). A new
    device is registered to the user, up to `devices_per_user`."""
    digest = fingerprints.of(body)
    _check_batch(body)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with db.write_beside() as conn:
                results = _push_once(conn, user, body, digest, omit_as_sent, devices_per_user)
                failpoints.hit("server.push.before_commit")
            break
        except DBAPIError as error:
            if attempt == ATTEMPTS or not _met_another_writer(error):
                raise
    failpoints.hit("server.push.after_commit")
    return results


# Pushes run side by side (`Database.write_beside`); one that met another is tried again.
ATTEMPTS = 3


def _met_another_writer(error: DBAPIError) -> bool:
    """True when a push failed only because another one ran at the same time: it stored
    the same batch id or created the same record first (the next attempt meets them),
    or PostgreSQL broke a deadlock between their record locks."""
    return isinstance(error, IntegrityError) or getattr(error.orig, "sqlstate", None) == "40P01"


def _check_batch(body: PushIn) -> None:
    if len(body.changes) > MAX_CHANGES:
        raise PayloadTooLarge(
            f"a batch holds at most {MAX_CHANGES} changes; send the rest in another batch",
            code="batch_too_large",
        )
    change_ids = [c.change_id for c in body.changes]
    keys = [(c.entity, c.id) for c in body.changes]
    if len(set(change_ids)) != len(change_ids):
        raise Unprocessable("change_id values must be unique in a batch", code="duplicate_change")
    if len(set(keys)) != len(keys):
        raise Unprocessable("a batch holds at most one change per record", code="duplicate_record")


def _push_once(
    conn: Connection,
    user: Principal,
    body: PushIn,
    digest: str,
    omit_as_sent: bool,
    devices_per_user: int,
) -> bytes:
    users.claim_device(conn, user, body.device_id, devices_per_user)
    stored = ledger.find(conn, body.batch_id)
    if stored is not None:
        if stored.user_id != user.user_id or stored.request_hash != digest:
            raise Conflict("this batch_id was used for another batch", code="batch_id_reused")
        return stored.answer
    project = projects.current(conn)
    read = Read.of(conn, project, body.device_id, body.changes)
    with bulk.QueuedWrites(conn) as writes:
        writer = records.Writer(writes, body.device_id, expected=len(body.changes))
        batch = Batch(user, body.device_id, project, writer, read)
        results = [_apply(batch, change) for change in body.changes]
        if omit_as_sent:
            _omit_as_sent(body.changes, results)
        answer = ledger.Answer.of(results)
        writer.flush()
    stamp = writer.stamp
    ledger.add(
        conn,
        batch_id=body.batch_id,
        user_id=user.user_id,
        device_id=body.device_id,
        request_hash=digest,
        answer=answer,
        created_at=stamp,
    )
    conn.execute(
        sa.update(devices).where(devices.c.id == body.device_id).values(last_push_at=stamp)
    )
    return answer.json


# The results a device takes as its record's new state (not an open conflict's S).
_TAKEN = frozenset({Status.APPLIED, Status.MERGED, Status.DEVICE_WINS, Status.SERVER_WINS})


def _omit_as_sent(changes: list[ChangeIn], results: list[ChangeResult]) -> None:
    """Leave out of the results the records stored as their change sent them (`record`,
    not a merge, which the device keeps apart from D): the device has them, and neither
    side then encodes, sends and stores them again."""
    for change, result in zip(changes, results, strict=True):
        taken = result["status"] in _TAKEN and not result["deleted"]
        if taken and change.merged_from is None and result["record"] == change.record:
            result["record"] = None


def _apply(batch: Batch, change: ChangeIn) -> ChangeResult:
    """Apply one change; what it met (a rejection too) is noted for its children."""
    try:
        result = _apply_change(batch, change)
    except Refused as failure:
        result = _rejected(change, failure)
    batch.met[(change.entity, change.id)] = result["status"]
    return result


def _rejected(change: ChangeIn, failure: Refused) -> ChangeResult:
    error = ErrorBody(code=failure.code, message=failure.message, details=failure.details)
    return {
        "change_id": change.change_id,
        "status": Status.REJECTED,
        "version": None,
        "record": None,
        "deleted": False,
        "conflict_id": None,
        "error": error,
    }


def _apply_change(batch: Batch, change: ChangeIn) -> ChangeResult:
    entity = batch.entity(change.entity)
    change = _with_checked_base(entity, change)
    current = _current(batch, entity, change)
    if current is not None and not records.may_see(batch.user, entity, current):
        raise Refused(f"you may not change this {entity.name}", code="no_permission")
    check_values(entity, change.fields)
    if change.op is Op.CREATE:
        return _create(batch, entity, change, current)
    if current is None:
        raise Missing(f"this {entity.name} does not exist on the server")
    situation = _situation(entity, change, current)
    if change.resolves is not None:
        return _resolve_open(batch, change, current, situation)
    return _settle(batch, change, current, situation, resolve(situation))


def _with_checked_base(entity: Entity, change: ChangeIn) -> ChangeIn:
    """The change with its base limited to the entity's fields, as the journal keeps it."""
    if change.base is None:
        return change
    base = checked_base(entity, change.base)
    return change if base is change.base else change.model_copy(update={"base": base})


def _current(batch: Batch, entity: Entity, change: ChangeIn) -> StoredRecord | None:
    """The server's record that a change meets: the stand-in of its purged tombstone
    when the server no longer has it (see `purged`)."""
    current = batch.record(entity.name, change.id)
    if current is None and change.op is not Op.CREATE:
        return purged.stand_in(batch, entity, change)
    return current


def _create(
    batch: Batch, entity: Entity, change: ChangeIn, current: StoredRecord | None
) -> ChangeResult:
    if current is not None:
        raise StateConflict(f"a {entity.name} with this id exists already", code="already_exists")
    values = _device_record(entity, change, {})
    _check_record(batch, entity, values, None)
    stored = batch.writer.save(entity, change.id, values, actor=batch.user.user_id, current=None)
    return _result(change, Status.APPLIED, stored, None)


def _device_record(entity: Entity, change: ChangeIn, server: Mapping[str, Any]) -> dict[str, Any]:
    """D: the record as on the device (or the server's), the changed fields laid over it.

    A field the device never had (its base lacks it: the field was added to the entity
    after the device last had the record) and did not change is not the device's to
    write: D has the server's value, which no policy then overwrites with a null.
    The changed fields were checked already, and values equal to the server's are
    stored already; only the rest of the record is checked here.
    """
    rest = normalize(entity, change.record or server)
    for name in entity.missing_from(change.base) if change.base is not None else ():
        rest[name] = server.get(name)  # unless the device changed it (below)
    device = {**rest, **change.fields}
    if device != {**server, **change.fields}:  # D differs from S beyond the changed fields
        check_values(
            entity,
            {f: v for f, v in rest.items() if f not in change.fields and v != server.get(f)},
        )
    return device


def _situation(entity: Entity, change: ChangeIn, current: StoredRecord) -> Situation:
    device = _device_record(entity, change, current.data) if change.op is Op.UPDATE else None
    return current.met_by(
        entity.on_conflict,
        entity.conflict_detection,
        change.op,
        device,
        frozenset(change.fields),
        change.base_version or 0,
    )


def _resolve_open(
    batch: Batch, change: ChangeIn, current: StoredRecord, situation: Situation
) -> ChangeResult:
    """Apply a user's choice for an open conflict, unless the server moved on since.

    The entry keeps D as the choice was made on it: the device may have edited the
    record again while the conflict was open, and what a choice drops is kept.
    """
    entry = batch.read.entries.get(change.resolves or "")
    if entry is None or entry.record_id != change.id:
        raise Missing("this device has no such conflict", code="unknown_conflict")
    choice = change.resolution or Choice.DEVICE
    if choice is Choice.MERGE and (situation.device is None or situation.server_deleted):
        raise StateConflict("only two versions of a record can be merged", code="cannot_merge")
    entity = batch.entity(change.entity)
    chosen_on = _chosen_on(entity, change, situation)
    if entry.is_open and current.version == change.base_version:
        outcome = decide(situation, choice, merged=situation.device)
        _check_outcome(batch, current, outcome)
        stored = _write(batch, current, outcome)
        journal.settle(
            batch.writer.writes,
            entry,
            outcome,
            batch.user.user_id,
            version=stored.version,
            device=chosen_on,
        )
        return _result(change, outcome.status, stored, entry.id)
    if entry.is_open:
        journal.supersede(batch.writer.writes, entry, batch.user.user_id, device=chosen_on)
    if choice is Choice.SERVER:
        return _result(change, Status.SERVER_WINS, current, entry.id)
    if change.merged_from is not None:  # merged with a server version that is gone
        change = _unmerged(change, change.merged_from)
        situation = _situation(entity, change, current)
    return _settle(batch, change, current, situation, resolve(situation))


def _chosen_on(entity: Entity, change: ChangeIn, situation: Situation) -> Values | None:
    """D as the user's choice was made on it: sent apart for a merge (`merged_from`)."""
    if change.resolution is not Choice.MERGE:
        return situation.device
    if change.merged_from is None:
        raise ValidationFailed(
            "merge_without_original",
            "a merge must send the record it was made of (`merged_from`)",
        )
    check_values(entity, change.merged_from)
    return normalize(entity, change.merged_from)


def _unmerged(change: ChangeIn, device: Values) -> ChangeIn:
    """The change as D was before the user's merge, to meet the server's newer version."""
    fields = {f: device.get(f) for f in differing(change.base, device)}
    return change.model_copy(update={"record": device, "fields": fields, "merged_from": None})


def _settle(
    batch: Batch,
    change: ChangeIn,
    current: StoredRecord,
    situation: Situation,
    outcome: Outcome,
) -> ChangeResult:
    _check_outcome(batch, current, outcome)
    stored = _write(batch, current, outcome)
    conflict_id = None
    if outcome.is_conflict:
        conflicting = journal.ConflictingChange(
            entity=current.entity,
            record_id=current.id,
            change_id=change.change_id,
            base=change.base,
            base_version=change.base_version,
            server_version=current.version,
            user_id=batch.user.user_id,
            device_id=batch.device_id,
        )
        entry = journal.new_entry(
            conflicting, situation, outcome, batch.writer.stamp, stored.version
        )
        journal.queue(batch.writer.writes, entry)
        conflict_id = entry["id"]
    return _result(change, outcome.status, stored, conflict_id)


def _check_outcome(batch: Batch, current: StoredRecord, outcome: Outcome) -> None:
    if outcome.changed and outcome.result is not None:
        entity = batch.entity(current.entity)
        _check_record(batch, entity, outcome.result, None if current.deleted else current.data)


def _write(batch: Batch, current: StoredRecord, outcome: Outcome) -> StoredRecord:
    if not outcome.changed:
        return current
    entity = batch.entity(current.entity)
    return batch.writer.save(
        entity, current.id, outcome.result, actor=batch.user.user_id, current=current
    )


def _check_record(
    batch: Batch, entity: Entity, values: Mapping[str, Any], before: Mapping[str, Any] | None
) -> None:
    """Refuse empty required fields and lookups to parents a record may not point at."""
    check_required(entity, values)
    parents.check_lookups(batch, entity, values, before)


def _result(
    change: ChangeIn, status: Status, stored: StoredRecord, conflict_id: str | None
) -> ChangeResult:
    return {
        "change_id": change.change_id,
        "status": status,
        "version": stored.version,
        "record": stored.data,
        "deleted": stored.deleted,
        "conflict_id": conflict_id,
        "error": None,
    }
