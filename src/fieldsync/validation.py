"""Checks of a record against its entity: values, required fields and lookups.

Pure: whether a lookup may point at a record is asked of the caller, who knows the
records and the user's scope. Every failure is a `ValidationFailed` whose `code` is
what a rejected change carries: `unknown_field`, `wrong_type`, `out_of_range`,
`required`, `too_long`, `not_an_option`, `missing_parent`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from fieldsync.errors import ValidationFailed
from fieldsync.project import LARGEST_INTEGER, SMALLEST_INTEGER, Entity, Field, FieldType

STRING_LIMIT = 4_000
TEXT_LIMIT = 100_000


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_decimal(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and value == value  # NaN is no number


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return len(value) == 10


def _is_datetime(value: Any) -> bool:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def is_uuid(value: Any) -> bool:
    """True for a UUID in any of its text forms."""
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


_TYPE_CHECKS: dict[FieldType, tuple[Callable[[Any], bool], str]] = {
    FieldType.STRING: (lambda v: isinstance(v, str), "a string"),
    FieldType.TEXT: (lambda v: isinstance(v, str), "a string"),
    FieldType.INTEGER: (_is_int, "an integer"),
    FieldType.DECIMAL: (_is_decimal, "a number"),
    FieldType.BOOLEAN: (lambda v: isinstance(v, bool), "true or false"),
    FieldType.DATE: (_is_date, "a date like 2026-11-26"),
    FieldType.DATETIME: (_is_datetime, "an ISO 8601 date and time"),
    FieldType.PICKLIST: (lambda v: isinstance(v, str), "one of the options"),
    FieldType.LOOKUP: (is_uuid, "the id (UUID) of a record"),
}


def _beyond_64_bits(value: Any) -> bool:
    """An integer outside 64 bits, also as the float a JSON decoder makes of one."""
    if _is_int(value):
        return not SMALLEST_INTEGER <= value <= LARGEST_INTEGER
    return isinstance(value, float) and value.is_integer() and abs(value) > LARGEST_INTEGER


def _shown(value: Any) -> str:
    """A value as a message quotes it: a list or an object only by its kind, as it may
    be nested deeper than a repr can go."""
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    return f"{value!r:.80}"


def check_value(entity: Entity, fdef: Field, value: Any) -> None:
    """Refuse one value that does not fit its field (None is always allowed here)."""
    if value is None:
        return
    if fdef.type is FieldType.INTEGER and _beyond_64_bits(value):
        raise ValidationFailed(
            "out_of_range",
            f"{_where(entity, fdef)} must be a 64-bit integer "
            f"(from {SMALLEST_INTEGER} to {LARGEST_INTEGER}), not {int(value)!r:.80}",
            {"field": fdef.name},
        )
    check, expected = _TYPE_CHECKS[fdef.type]
    if not check(value):
        raise ValidationFailed(
            "wrong_type",
            f"{_where(entity, fdef)} must be {expected}, not {_shown(value)}",
            {"field": fdef.name},
        )
    if isinstance(value, str):
        default = TEXT_LIMIT if fdef.type is FieldType.TEXT else STRING_LIMIT
        limit = min(fdef.max_length or default, default)
        if len(value) > limit:
            raise ValidationFailed(
                "too_long",
                f"{_where(entity, fdef)} is {len(value)} characters long; "
                f"at most {limit} are allowed",
                {"field": fdef.name, "max_length": limit},
            )
    if fdef.type is FieldType.PICKLIST and value not in fdef.options:
        raise ValidationFailed(
            "not_an_option",
            f"{_where(entity, fdef)} must be one of {', '.join(fdef.options)}, not {value!r:.80}",
            {"field": fdef.name, "options": list(fdef.options)},
        )


def _where(entity: Entity, fdef: Field) -> str:
    """The field as messages name it (made only for a message: checks run per value)."""
    return f"{entity.name}.{fdef.name}"


def check_values(entity: Entity, values: Mapping[str, Any]) -> None:
    """Refuse unknown fields and values of the wrong type, length or option."""
    for name, value in values.items():
        fdef = entity.field(name)
        if fdef is None:
            raise ValidationFailed(
                "unknown_field", f"{entity.name} has no field {name!r:.80}", {"field": name[:80]}
            )
        check_value(entity, fdef, value)


def checked_base(entity: Entity, base: dict[str, Any]) -> dict[str, Any]:
    """The base of a change as the server keeps it: only the entity's fields (a base
    the device received before a field was dropped still holds it), each a single
    value of any type (a base received before a field's type changed holds the old
    type) no longer than a text field holds. Refuses a nested value (`wrong_type`) and
    a longer text (`too_long`)."""
    kept = {name: value for name, value in base.items() if entity.field(name) is not None}
    for name, value in kept.items():
        if isinstance(value, list | dict):
            raise ValidationFailed(
                "wrong_type",
                f"the base of {entity.name}.{name} must be a single value, not {_shown(value)}",
                {"field": name},
            )
        if isinstance(value, str) and len(value) > TEXT_LIMIT:
            raise ValidationFailed(
                "too_long",
                f"the base of {entity.name}.{name} is {len(value)} characters long; "
                f"at most {TEXT_LIMIT} are allowed",
                {"field": name, "max_length": TEXT_LIMIT},
            )
    return base if len(kept) == len(base) else kept


def check_required(entity: Entity, record: Mapping[str, Any]) -> None:
    """Refuse a record whose required fields are empty."""
    for fdef in entity.required_fields:
        if record.get(fdef.name) in (None, ""):
            raise ValidationFailed(
                "required", f"{entity.name}.{fdef.name} is required", {"field": fdef.name}
            )


# Whether a lookup may point at a record: (target entity, record id) -> yes or no.
ParentCheck = Callable[[str, str], bool]


def check_record(
    entity: Entity,
    changed: Mapping[str, Any],
    record: Mapping[str, Any],
    may_point_at: ParentCheck,
) -> None:
    """Refuse a record written with `changed` laid over what it held (`record` is the
    result): a changed value that does not fit its field, an empty required field, or a
    changed lookup to a record it may not point at."""
    check_values(entity, changed)
    check_required(entity, record)
    check_lookups(entity, changed, may_point_at)


def check_lookups(entity: Entity, values: Mapping[str, Any], may_point_at: ParentCheck) -> None:
    """Refuse a lookup among `values` to a record it may not point at."""
    for name, target, target_id in lookups(entity, values):
        if not may_point_at(target, target_id):
            raise ValidationFailed(
                "missing_parent",
                f"{entity.name}.{name} points at a {target} that does not exist",
                {"field": name, "parent": target_id},
            )


def lookups(entity: Entity, values: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The (field, target entity, id) of each non-empty lookup among `values`."""
    return [
        (f.name, f.target, values[f.name])
        for f in entity.lookup_fields
        if f.target and values.get(f.name) is not None
    ]


def normalize(entity: Entity, record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with every field of the entity present (missing ones as None), in field order."""
    names = entity.field_names
    if len(record) == len(names) and tuple(record) == names:  # the usual case: a plain copy
        return dict(record)
    return {name: record.get(name) for name in names}
