"""The three-way view of a conflict: per field, the value before, mine and the office's.

"Before" is the record's base (the server version the device last received before the
user's edit), "mine" is D and "the office's" is S. A field changed on one side only is
that side's change, and a merge takes it from there; a field both sides changed to
different values is the question (a merge suggests mine); a field both changed alike is
no question. The field app's `threeway.js` shows the same view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict

Values = Mapping[str, Any]
ChangedBy = Literal["", "you", "office", "both", "both alike"]


class FieldChange(TypedDict):
    """One field of a conflict in three versions, and who changed it since base."""

    field: str
    before: Any
    device: Any
    server: Any
    changed_by: ChangedBy


def changed_by(
    base: Values | None, device: Values | None, server: Values | None, name: str
) -> ChangedBy:
    """Who changed a field since base ("" for nobody); a side that deleted the record
    changed no field, and with no base known every difference is both sides'."""
    if device is not None and server is not None and device.get(name) == server.get(name):
        return "both alike" if base is not None and base.get(name) != device.get(name) else ""
    mine = device is not None and (base is None or base.get(name) != device.get(name))
    office = server is not None and (base is None or base.get(name) != server.get(name))
    if mine and office:
        return "both"
    return "you" if mine else "office" if office else ""


def field_changes(
    base: Values | None, device: Values | None, server: Values | None
) -> list[FieldChange]:
    """Every field of the three versions, in the records' field order."""
    names = dict.fromkeys([*(base or {}), *(device or {}), *(server or {})])
    return [
        {
            "field": name,
            "before": (base or {}).get(name),
            "device": None if device is None else device.get(name),
            "server": None if server is None else server.get(name),
            "changed_by": changed_by(base, device, server, name),
        }
        for name in names
    ]


def suggested_merge(changes: list[FieldChange]) -> list[str]:
    """The fields a merge takes from the device by default: those I changed, alone or
    differently from the office (the others come from the server)."""
    return [c["field"] for c in changes if c["changed_by"] in ("you", "both")]
