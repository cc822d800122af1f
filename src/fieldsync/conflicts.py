"""The conflict-resolution core: `(policy, base, device, server) → outcome`, with no I/O.

It implements the tables of docs/policies.md. The server calls `resolve` for every
pushed change inside the push transaction and `decide` when a user (on the device or
in the console) settles an open User Action conflict. See docs/policies.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from fieldsync.project import Detection, Policy

Values = Mapping[str, Any]


class Op(StrEnum):
    """What a device change does to a record."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Status(StrEnum):
    """The status of one change in a push result."""

    APPLIED = "applied"
    MERGED = "merged"
    DEVICE_WINS = "device_wins"
    SERVER_WINS = "server_wins"
    CONFLICT = "conflict"
    REJECTED = "rejected"


class Kind(StrEnum):
    """Which two changes met: device change first, server change second."""

    UPDATE_UPDATE = "update_update"
    UPDATE_DELETE = "update_delete"
    DELETE_UPDATE = "delete_update"


class Choice(StrEnum):
    """What a user picks for an open conflict."""

    DEVICE = "device"
    SERVER = "server"
    MERGE = "merge"


# The side a merge takes one field from.
Side = Literal["device", "server"]


class ConflictState(StrEnum):
    """Where a journaled conflict stands."""

    OPEN = "open"
    RESOLVED = "resolved"
    SUPERSEDED = "superseded"


class Situation(NamedTuple):
    """A device change (`op`, `device`, `device_changed`) meeting the server's record.

    `device` is D (None when the device deleted the record); `server` is S, or the
    last values of a deleted record; `server_modified` says the server's version is
    newer than the device's base; `server_changed` names the fields changed since base.

    Immutable; a NamedTuple rather than a frozen dataclass because one is made for
    every pushed change, and a NamedTuple is cheaper to make.
    """

    policy: Policy
    detection: Detection
    op: Op
    device: Values | None
    device_changed: frozenset[str]
    server: Values
    server_deleted: bool
    server_modified: bool
    server_changed: frozenset[str]

    @property
    def kind(self) -> Kind:
        """Which conflict this would be."""
        if self.op is Op.DELETE:
            return Kind.DELETE_UPDATE
        return Kind.UPDATE_DELETE if self.server_deleted else Kind.UPDATE_UPDATE

    def device_fields(self, names: frozenset[str] | None = None) -> dict[str, Any]:
        """D's values of `names` (default: the device-changed fields)."""
        device = self.device or {}
        return {f: device.get(f) for f in (self.device_changed if names is None else names)}


class Outcome(NamedTuple):
    """What becomes of a change: its status and the record the server ends with.

    `result` is the record's values afterwards (None: deleted); `changed` says the
    server must write it; `kind` is set when the change was a conflict (journaled);
    `fields` names the fields in conflict, for highlighting.
    """

    status: Status
    result: Values | None
    changed: bool
    kind: Kind | None = None
    fields: frozenset[str] = frozenset()

    @property
    def is_conflict(self) -> bool:
        """True when this outcome must be journaled."""
        return self.kind is not None


def _outcome(
    s: Situation, status: Status, result: Values | None, kind: Kind | None, fields: frozenset[str]
) -> Outcome:
    was = None if s.server_deleted else s.server
    changed = (result is None) != (was is None) or (result is not None and result != was)
    return Outcome(status, result, changed, kind, fields)


def differing(a: Values | None, b: Values | None) -> frozenset[str]:
    """The fields whose values differ between two records (a missing record has none)."""
    if a is None or b is None:
        return frozenset((a or b or {}).keys())
    if a.keys() == b.keys():  # the usual case: two states of one entity's record
        return frozenset([f for f, value in a.items() if b[f] != value])
    return frozenset(f for f in set(a) | set(b) if a.get(f) != b.get(f))


def resolve(s: Situation) -> Outcome:
    """The outcome of a device change under its entity's policy (docs/policies.md)."""
    if s.op is Op.DELETE and s.server_deleted:
        return _outcome(s, Status.APPLIED, None, None, frozenset())
    if not s.server_modified and not s.server_deleted:
        return _without_conflict(s)
    if s.op is Op.DELETE:
        return _delete_vs_update(s)
    if s.server_deleted:
        return _update_vs_delete(s)
    if s.detection is Detection.FIELD:
        return _field_level(s)
    return _update_vs_update(s)


def _without_conflict(s: Situation) -> Outcome:
    if s.op is Op.DELETE:
        return _outcome(s, Status.APPLIED, None, None, frozenset())
    return _outcome(s, Status.APPLIED, {**s.server, **s.device_fields()}, None, frozenset())


def _update_vs_update(s: Situation) -> Outcome:
    kind, fields = Kind.UPDATE_UPDATE, differing(s.device, s.server)
    if s.policy is Policy.SERVER_WINS:
        return _outcome(s, Status.SERVER_WINS, s.server, kind, fields)
    if s.policy is Policy.PARTIAL_DEVICE_WINS:
        return _outcome(s, Status.MERGED, {**s.server, **s.device_fields()}, kind, fields)
    if s.policy is Policy.FULL_DEVICE_WINS:
        return _outcome(s, Status.DEVICE_WINS, {**s.server, **(s.device or {})}, kind, fields)
    return _outcome(s, Status.CONFLICT, s.server, kind, fields)


def _field_level(s: Situation) -> Outcome:
    """Only overlapping changes with different values conflict; the rest merge silently."""
    device = s.device or {}
    overlap = frozenset(
        f for f in s.device_changed & s.server_changed if device.get(f) != s.server.get(f)
    )
    merged = {**s.server, **s.device_fields()}
    if not overlap:
        return _outcome(s, Status.MERGED, merged, None, frozenset())
    kind = Kind.UPDATE_UPDATE
    if s.policy is Policy.SERVER_WINS:
        kept = {**s.server, **s.device_fields(s.device_changed - overlap)}
        return _outcome(s, Status.SERVER_WINS, kept, kind, overlap)
    if s.policy is Policy.PARTIAL_DEVICE_WINS:
        return _outcome(s, Status.MERGED, merged, kind, overlap)
    if s.policy is Policy.FULL_DEVICE_WINS:
        return _outcome(s, Status.DEVICE_WINS, merged, kind, overlap)
    return _outcome(s, Status.CONFLICT, s.server, kind, overlap)


def _update_vs_delete(s: Situation) -> Outcome:
    """The device updated a record the server deleted."""
    kind, fields = Kind.UPDATE_DELETE, frozenset(s.device_changed)
    if s.policy is Policy.SERVER_WINS:
        return _outcome(s, Status.SERVER_WINS, None, kind, fields)
    if s.policy is Policy.PARTIAL_DEVICE_WINS:
        return _outcome(s, Status.MERGED, {**s.server, **s.device_fields()}, kind, fields)
    if s.policy is Policy.FULL_DEVICE_WINS:
        return _outcome(s, Status.DEVICE_WINS, {**s.server, **(s.device or {})}, kind, fields)
    return _outcome(s, Status.CONFLICT, None, kind, fields)


def _delete_vs_update(s: Situation) -> Outcome:
    """The device deleted a record the server updated."""
    kind, fields = Kind.DELETE_UPDATE, frozenset(s.server_changed)
    if s.policy is Policy.SERVER_WINS:
        return _outcome(s, Status.SERVER_WINS, s.server, kind, fields)
    if s.policy is Policy.USER_ACTION:
        return _outcome(s, Status.CONFLICT, s.server, kind, fields)
    return _outcome(s, Status.DEVICE_WINS, None, kind, fields)


def decide(s: Situation, choice: Choice, merged: Values | None = None) -> Outcome:
    """The outcome of a user's choice for an open conflict (device, console or CLI).

    `device` takes D as Full Device Wins would (a device delete deletes); `server`
    keeps S; `merge` writes S overlaid with `merged`, the per-field picks.
    """
    kind, fields = s.kind, differing(s.device, None if s.server_deleted else s.server)
    if choice is Choice.SERVER:
        return _outcome(s, Status.SERVER_WINS, None if s.server_deleted else s.server, kind, fields)
    if choice is Choice.MERGE:
        if merged is None:
            raise ValueError("a merge needs the merged values")
        return _outcome(s, Status.MERGED, {**s.server, **merged}, kind, fields)
    result = None if s.device is None else {**s.server, **s.device}
    return _outcome(s, Status.DEVICE_WINS, result, kind, fields)


def merge_fields(
    device: Values, server: Values, picks: Mapping[str, Choice], base: Values | None = None
) -> dict[str, Any]:
    """A record taking each field from the side picked for it.

    A field without a pick is the server's, unless `base` (the values both sides started
    from) is given and only the device changed that field since: then it is the device's.
    The devices merge with a base (a field typed after deciding is kept); the console's
    merge form, without one, shows each unpicked field as the server's.
    """
    return {
        f: device.get(f)
        if _side(f, device, server, picks, base) is Choice.DEVICE
        else server.get(f)
        for f in dict.fromkeys([*device, *server])  # in the records' field order
    }


def _side(
    field: str, device: Values, server: Values, picks: Mapping[str, Choice], base: Values | None
) -> Choice:
    """The side a merge takes `field` from: the pick, else the only side that changed it."""
    if field in picks:
        return picks[field]
    if base is None:
        return Choice.SERVER
    before = base.get(field)
    only_device = device.get(field) != before and server.get(field) == before
    return Choice.DEVICE if only_device else Choice.SERVER
