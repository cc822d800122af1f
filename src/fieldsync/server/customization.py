"""The guard of destructive customization: what publishing a new project would break.

A change is destructive when it breaks something the server knows of:

- a dropped entity or field (a rename is a drop and an add) whose records hold values,
  with open conflicts, or that devices synced (and may hold pending edits of);
- a field whose stored values no longer fit it: another type or lookup target, a
  picklist option removed, a shorter max_length, required while records have it empty.

Such a change is refused (409 `destructive_change`, the report in `details`) unless
the admin confirms it; a dry run returns the report and changes nothing. Additive
changes (a new entity, an optional field, an option, a longer max_length, settings)
break nothing and need no confirmation. A confirmed change rewrites no stored record
(docs/admin.md says what is served afterwards). Edits pending on devices are unknown
to the server until they are pushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.conflicts import ConflictState
from fieldsync.errors import Conflict, ValidationFailed
from fieldsync.project import Entity, Field, FieldType, Project
from fieldsync.server import bulk, journal, schema
from fieldsync.server.schema import devices
from fieldsync.validation import check_value

PENDING_EDITS = (
    "edits pending on devices are unknown to the server: a pending edit of what is "
    "dropped or no longer fits is refused at its device's next sync, and kept there "
    "for fix and retry or discard"
)
SCAN_BATCH = 1_000


@dataclass(frozen=True)
class Breakage:
    """One dropped entity or field, or one field whose stored values no longer fit."""

    entity: str
    field: str | None
    change: str  # entity_dropped, field_dropped or field_changed
    what: str
    records: int
    open_conflicts: int
    devices: int

    @property
    def breaks_something(self) -> bool:
        """True when records, open conflicts or synced devices are hit."""
        return bool(self.records or self.open_conflicts or self.devices)

    def message(self) -> str:
        """One line: what changes and what it breaks."""
        where = self.entity if self.field is None else f"{self.entity}.{self.field}"
        held = {
            "field_changed": "no longer fit",
            "field_dropped": "are given up (each is dropped when its record is next written)",
        }.get(self.change, "will no longer be served")
        parts = [f"values of {_count(self.records, 'record')} {held}"] if self.records else []
        if self.open_conflicts:
            parts.append(_count(self.open_conflicts, "open conflict"))
        if self.devices:
            parts.append(_count(self.devices, "device") + f" synced {self.entity}")
        return f"{where} {self.what}: {', '.join(parts)}"

    def to_dict(self) -> dict[str, Any]:
        """The breakage as the report shows it."""
        return {
            "entity": self.entity,
            "field": self.field,
            "change": self.change,
            "what": self.what,
            "records": self.records,
            "open_conflicts": self.open_conflicts,
            "devices": self.devices,
            "message": self.message(),
        }


@dataclass(frozen=True)
class Report:
    """What publishing a project would break, as far as the server can know."""

    breakages: tuple[Breakage, ...]
    devices: tuple[str, ...]  # the devices that have synced

    @property
    def destructive(self) -> bool:
        """True when the change needs the admin's confirmation."""
        return bool(self.breakages)

    def summary(self) -> str:
        """The report as one message."""
        if not self.breakages:
            return "nothing stored is broken by this change"
        return "this change would break: " + "; ".join(b.message() for b in self.breakages)

    def to_dict(self) -> dict[str, Any]:
        """The report as the admin API returns it."""
        return {
            "destructive": self.destructive,
            "breakages": [b.to_dict() for b in self.breakages],
            "devices": list(self.devices),
            "pending_edits": PENDING_EDITS,
            "message": self.summary(),
        }


def guard(conn: Connection, before: Project, after: Project, *, confirm: bool) -> Report:
    """The report of publishing `after`; refused (409) when destructive and not confirmed."""
    found = report(conn, before, after)
    if found.destructive and not confirm:
        raise Conflict(
            f"{found.summary()}. Nothing was changed: a dry run shows the whole report, "
            "and confirming applies it",
            code="destructive_change",
            details=found.to_dict(),
        )
    return found


def report(conn: Connection, before: Project, after: Project) -> Report:
    """What publishing `after` in place of `before` would break."""
    synced = _synced_devices(conn)
    breakages: list[Breakage] = []
    for old in before.entities:
        if after.entity(old.name) is None:
            breakages.append(_entity_dropped(conn, old, len(synced)))
    for new in after.entities:
        breakages += _entity_changed(conn, before.entity(new.name), new, len(synced))
    return Report(tuple(b for b in breakages if b.breaks_something), synced)


def _synced_devices(conn: Connection) -> tuple[str, ...]:
    """The devices that have pulled: each holds the project and may hold edits of it."""
    rows = conn.execute(
        sa.select(devices.c.id).where(devices.c.last_pull_at.is_not(None)).order_by(devices.c.id)
    )
    return tuple(rows.scalars())


def _entity_dropped(conn: Connection, entity: Entity, synced: int) -> Breakage:
    live = conn.execute(
        sa.select(sa.func.count())
        .select_from(schema.records)
        .where(schema.records.c.entity == entity.name, schema.records.c.deleted.is_(False))
    ).scalar_one()
    return Breakage(
        entity.name,
        None,
        "entity_dropped",
        "dropped",
        int(live),
        len(_open_conflicts(conn, entity.name)),
        synced,
    )


def _entity_changed(
    conn: Connection, old: Entity | None, new: Entity, synced: int
) -> list[Breakage]:
    """The fields of `new` that were dropped from `old` or whose rules changed."""
    before = {f.name: f for f in old.fields} if old is not None else {}
    dropped = [f for f in before.values() if new.field(f.name) is None]
    changed = [f for f in new.fields if _rules(before.get(f.name)) != _rules(f)]
    if not dropped and not changed:
        return []
    held, misfits = _scan(conn, new, dropped, [(before.get(f.name), f) for f in changed])
    conflicts = _open_conflicts(conn, new.name)
    found = [
        Breakage(
            new.name,
            f.name,
            "field_dropped",
            "dropped",
            held[f.name],
            sum(1 for c in conflicts if f.name in c.row["fields"]),
            synced,
        )
        for f in dropped
    ]
    for f in changed:
        was = before.get(f.name)
        unfit = sum(1 for d in _device_values(conflicts, f.name) if _misfits(new, was, f, d))
        found.append(
            Breakage(new.name, f.name, "field_changed", _what(was, f), misfits[f.name], unfit, 0)
        )
    return found


def _device_values(conflicts: list[journal.JournalEntry], name: str) -> list[Any]:
    """The device's values of field `name` in the open conflicts where the device changed it."""
    return [(c.row["device"] or {}).get(name) for c in conflicts if name in c.row["fields"]]


def _rules(fdef: Field | None) -> tuple[Any, ...] | None:
    """What decides whether a value fits a field (its label does not)."""
    if fdef is None:
        return None
    return (fdef.type, fdef.target, fdef.options, fdef.max_length, fdef.required)


def _scan(
    conn: Connection,
    entity: Entity,
    dropped: list[Field],
    changed: list[tuple[Field | None, Field]],
) -> tuple[dict[str, int], dict[str, int]]:
    """Per dropped field, the live records holding a value; per changed field, the live
    records whose value fit the old definition and does not fit the new one."""
    held = dict.fromkeys((f.name for f in dropped), 0)
    misfits = dict.fromkeys((f.name for _, f in changed), 0)
    rows = conn.execute(
        sa.select(schema.records.c.data)
        .where(schema.records.c.entity == entity.name, schema.records.c.deleted.is_(False))
        .execution_options(yield_per=SCAN_BATCH)
    )
    for (stored,) in rows:
        data = bulk.json_value(stored)
        for f in dropped:
            held[f.name] += data.get(f.name) is not None
        for was, now in changed:
            misfits[now.name] += _misfits(entity, was, now, data.get(now.name))
    return held, misfits


def _misfits(entity: Entity, was: Field | None, now: Field, value: Any) -> bool:
    """True when `value` fitted the field as it was (or the field is new) but not as it is."""
    if value is not None and _retargeted(was, now):
        return True  # the id points at a record of the old target
    return not _fits(entity, now, value) and (was is None or _fits(entity, was, value))


def _retargeted(was: Field | None, now: Field) -> bool:
    return (
        was is not None
        and was.type is FieldType.LOOKUP
        and now.type is FieldType.LOOKUP
        and was.target != now.target
    )


def _fits(entity: Entity, fdef: Field, value: Any) -> bool:
    if fdef.required and value in (None, ""):
        return False
    try:
        check_value(entity, fdef, value)
    except ValidationFailed:
        return False
    return True


def _what(was: Field | None, now: Field) -> str:
    """The change of a field's rules in words, e.g. `type string → integer`."""
    if was is None:
        return "added" + (" as required" if now.required else "")
    words = []
    if was.type is not now.type:
        words.append(f"type {was.type.value} → {now.type.value}")
    if was.target != now.target and now.type is FieldType.LOOKUP:
        words.append(f"target {was.target} → {now.target}")
    removed = [o for o in was.options if o not in now.options]
    if removed and now.type is FieldType.PICKLIST:
        words.append(f"options removed: {', '.join(removed)}")
    if was.max_length != now.max_length:
        words.append(f"max_length {was.max_length or 'none'} → {now.max_length or 'none'}")
    if now.required and not was.required:
        words.append("made required")
    return ", ".join(words) or "changed"


def _open_conflicts(conn: Connection, entity: str) -> list[journal.JournalEntry]:
    rows = conn.execute(
        sa.select(schema.journal).where(
            schema.journal.c.entity == entity, schema.journal.c.status == ConflictState.OPEN.value
        )
    )
    return [journal.JournalEntry.of(r._mapping) for r in rows]


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"
