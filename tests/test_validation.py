"""Validation of a record against its entity: each field type's accepted and refused
values, required fields and lookups (pure: no server, no database)."""

from __future__ import annotations

from typing import Any

import pytest

from fieldsync.errors import ValidationFailed
from fieldsync.project import LARGEST_INTEGER, SMALLEST_INTEGER, Entity, Field, FieldType
from fieldsync.validation import (
    STRING_LIMIT,
    TEXT_LIMIT,
    check_record,
    check_required,
    check_values,
    normalize,
)

PARENT = "3f1c4a56-1111-4c3b-9a51-2d0c1e4b5f60"

VISIT = Entity(
    name="visit",
    fields=(
        Field(name="subject", type=FieldType.STRING, required=True, max_length=20),
        Field(name="notes", type=FieldType.TEXT),
        Field(name="guests", type=FieldType.INTEGER),
        Field(name="cost", type=FieldType.DECIMAL),
        Field(name="paid", type=FieldType.BOOLEAN),
        Field(name="day", type=FieldType.DATE),
        Field(name="start", type=FieldType.DATETIME),
        Field(name="mood", type=FieldType.PICKLIST, options=("good", "bad")),
        Field(name="account", type=FieldType.LOOKUP, target="account"),
    ),
)


def refusal(values: dict[str, Any]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        check_values(VISIT, values)
    return refused.value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Quarterly review"),
        ("notes", "x" * TEXT_LIMIT),
        ("guests", 0),
        ("guests", LARGEST_INTEGER),
        ("guests", SMALLEST_INTEGER),
        ("cost", 12),
        ("cost", 12.5),
        ("paid", False),
        ("day", "2026-11-26"),
        ("start", "2026-11-26T09:30:00+01:00"),
        ("start", "2026-11-26"),
        ("mood", "good"),
        ("account", PARENT),
        ("account", PARENT.upper()),
        ("subject", None),  # empty is a value check's business only when required
    ],
)
def test_a_value_of_its_fields_type_is_accepted(field: str, value: Any) -> None:
    check_values(VISIT, {field: value})


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        ("subject", 12, "wrong_type", "visit.subject must be a string, not 12"),
        ("notes", ["a"], "wrong_type", "visit.notes must be a string, not a list"),
        ("guests", "3", "wrong_type", "visit.guests must be an integer, not '3'"),
        ("guests", True, "wrong_type", "visit.guests must be an integer, not True"),
        ("guests", 2.0, "wrong_type", "visit.guests must be an integer, not 2.0"),
        ("guests", 2**63, "out_of_range", "visit.guests must be a 64-bit integer"),
        ("guests", -(2**63) - 1, "out_of_range", "visit.guests must be a 64-bit integer"),
        ("guests", 1e30, "out_of_range", "visit.guests must be a 64-bit integer"),
        ("cost", "12", "wrong_type", "visit.cost must be a number, not '12'"),
        ("cost", float("nan"), "wrong_type", "visit.cost must be a number"),
        ("cost", False, "wrong_type", "visit.cost must be a number, not False"),
        ("paid", "yes", "wrong_type", "visit.paid must be true or false, not 'yes'"),
        ("paid", 1, "wrong_type", "visit.paid must be true or false, not 1"),
        ("day", "26.11.2026", "wrong_type", "visit.day must be a date like 2026-11-26"),
        ("day", "20261126", "wrong_type", "visit.day must be a date like 2026-11-26"),
        ("start", "tomorrow", "wrong_type", "visit.start must be an ISO 8601 date and time"),
        (
            "start",
            {"at": 9},
            "wrong_type",
            "visit.start must be an ISO 8601 date and time, not an object",
        ),
        ("mood", "meh", "not_an_option", "visit.mood must be one of good, bad, not 'meh'"),
        ("mood", 1, "wrong_type", "visit.mood must be one of the options, not 1"),
        ("account", "acme", "wrong_type", "visit.account must be the id (UUID) of a record"),
        ("subject", "x" * 21, "too_long", "visit.subject is 21 characters long; at most 20"),
        ("notes", "x" * (TEXT_LIMIT + 1), "too_long", f"at most {TEXT_LIMIT} are allowed"),
    ],
)
def test_a_value_that_does_not_fit_its_field_is_refused_saying_why(
    field: str, value: Any, code: str, message: str
) -> None:
    refused = refusal({field: value})
    assert (refused.code, refused.details["field"]) == (code, field)
    assert message in refused.message


def test_a_string_field_without_max_length_holds_the_string_limit() -> None:
    entity = Entity(name="note", fields=(Field(name="title", type=FieldType.STRING),))
    check_values(entity, {"title": "x" * STRING_LIMIT})
    with pytest.raises(ValidationFailed) as refused:
        check_values(entity, {"title": "x" * (STRING_LIMIT + 1)})
    assert refused.value.details == {"field": "title", "max_length": STRING_LIMIT}


def test_an_unknown_field_is_refused_by_name() -> None:
    refused = refusal({"subject": "Visit", "colour": "red"})
    assert (refused.code, refused.message) == ("unknown_field", "visit has no field 'colour'")


@pytest.mark.parametrize("empty", [None, ""])
def test_a_required_field_left_empty_is_refused(empty: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_required(VISIT, normalize(VISIT, {"subject": empty, "guests": 2}))
    assert (refused.value.code, refused.value.message) == ("required", "visit.subject is required")


def test_normalize_gives_every_field_in_order() -> None:
    normalized = normalize(VISIT, {"mood": "good", "subject": "Visit"})
    assert list(normalized) == [f.name for f in VISIT.fields]
    assert (normalized["subject"], normalized["mood"], normalized["cost"]) == (
        "Visit",
        "good",
        None,
    )


def never(target: str, record_id: str) -> bool:
    raise AssertionError(f"asked about {target} {record_id}")


def test_a_record_with_a_lookup_to_a_record_it_may_point_at_is_accepted() -> None:
    asked: list[tuple[str, str]] = []

    def exists(target: str, record_id: str) -> bool:
        asked.append((target, record_id))
        return True

    check_record(VISIT, {"account": PARENT}, {"subject": "Visit", "account": PARENT}, exists)
    assert asked == [("account", PARENT)]


def test_a_lookup_to_a_record_it_may_not_point_at_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_record(
            VISIT, {"account": PARENT}, {"subject": "Visit", "account": PARENT}, lambda *_: False
        )
    assert refused.value.code == "missing_parent"
    assert refused.value.details == {"field": "account", "parent": PARENT}
    assert refused.value.message == "visit.account points at a account that does not exist"


def test_only_the_changed_values_of_a_record_are_checked_for_type_and_lookup() -> None:
    # The record keeps a lookup and a value written before: only what changes is asked about.
    record = {"subject": "Visit", "account": PARENT, "guests": "legacy"}
    check_record(VISIT, {"subject": "Visit"}, record, never)
    with pytest.raises(ValidationFailed) as refused:
        check_record(VISIT, {"guests": 2}, {**record, "subject": ""}, never)
    assert refused.value.code == "required"
