"""The customization: entities, their fields, and per entity the On Conflict policy.

A `Project` is plain data, shared by the server (which stores and validates against
it) and the device (which downloads it with `GET /v1/project`). Pydantic parses it
from the mapping `GET /v1/project` shows (or a project file holds): what cannot be
used is refused with an `InvalidProject` that says what is wrong, and where.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fieldsync.errors import InvalidProject

E = TypeVar("E", bound=StrEnum)
M = TypeVar("M", bound=BaseModel)

# The longest entity or field name: the server stores entity names in columns of 64
# characters (`records.entity`, `journal.entity`), and field names are held to the same.
NAME_LENGTH = 64


class Policy(StrEnum):
    """The On Conflict picklist."""

    SERVER_WINS = "server_wins"
    PARTIAL_DEVICE_WINS = "partial_device_wins"
    FULL_DEVICE_WINS = "full_device_wins"
    USER_ACTION = "user_action"


class Detection(StrEnum):
    """How a conflict is detected: any server change since base, or overlapping fields."""

    RECORD = "record"
    FIELD = "field"


class SyncFilter(StrEnum):
    """Which records of an entity a user's devices receive."""

    ALL = "all"
    OWNED = "owned"
    NONE = "none"


class FieldType(StrEnum):
    """The field types of the wire contract."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    PICKLIST = "picklist"
    LOOKUP = "lookup"


# The integers every store keeps exactly (SQL BIGINT, orjson, the device's SQLite):
# an integer field's values and any count a client sends stay within them.
SMALLEST_INTEGER, LARGEST_INTEGER = -(2**63), 2**63 - 1

POLICY_DESCRIPTIONS = {
    Policy.SERVER_WINS: "The server's version is kept, whatever the device changed.",
    Policy.PARTIAL_DEVICE_WINS: "Only the fields changed on the device are written to the server.",
    Policy.FULL_DEVICE_WINS: "All fields are written to the server as they are on the device.",
    Policy.USER_ACTION: "The user decides in the app's Sync errors; applied at the next sync.",
}


class _Definition(BaseModel):
    """A part of the project: immutable, its unknown keys ignored, its defaults checked
    like given values (a picklist's missing options, say)."""

    model_config = ConfigDict(frozen=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _absent_as_none(cls, data: Any) -> Any:
        """A definition without a name or a type, refused by the check of that key
        (`field name None is not an identifier`), as one whose value is null."""
        if not isinstance(data, dict):
            return data
        required = {name: None for name, spec in cls.model_fields.items() if spec.is_required()}
        return {**required, **data}


class Field(_Definition):
    """One field of an entity."""

    name: str
    type: FieldType
    label: str = ""
    required: bool = False
    max_length: int | None = None
    options: tuple[str, ...] = ()
    target: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return _identifier(value, "field")

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any, info: ValidationInfo) -> FieldType:
        return _member(FieldType, value, f"type of field {_named(info)}")

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, value: Any, info: ValidationInfo) -> str:
        return str(value or _named(info))

    @field_validator("required", mode="before")
    @classmethod
    def _required(cls, value: Any) -> bool:
        return bool(value)

    @field_validator("max_length", mode="before")
    @classmethod
    def _max_length(cls, value: Any, info: ValidationInfo) -> int | None:
        if value is None or (type(value) is int and 1 <= value <= LARGEST_INTEGER):  # no bool
            return value
        raise ValueError(f"max_length of {_named(info)} must be a positive 64-bit integer")

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, value: Any, info: ValidationInfo) -> tuple[str, ...]:
        if not isinstance(value, list | tuple | None):
            raise ValueError(f"options of {_named(info)} must be a list")
        options = tuple(str(o) for o in value or ())
        if info.data.get("type") is FieldType.PICKLIST and not options:
            raise ValueError(f"picklist {_named(info)} needs options")
        return options

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any, info: ValidationInfo) -> str | None:
        if info.data.get("type") is not FieldType.LOOKUP:
            return None
        if not isinstance(value, str):
            raise ValueError(f"lookup {_named(info)} needs a target entity")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The field as `GET /v1/project` shows it."""
        return self.model_dump(mode="json")


class Entity(_Definition):
    """One entity of the project with its conflict settings."""

    name: str
    label: str = ""
    on_conflict: Policy = Policy.SERVER_WINS
    conflict_detection: Detection = Detection.RECORD
    sync_filter: SyncFilter = SyncFilter.ALL
    fields: tuple[Field, ...] = ()
    # A date or datetime field: a first download brings the records dated today or later
    # in it first, with the user's own records (the first screen, see `server.first_screen`).
    upcoming_field: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return _identifier(value, "entity")

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, value: Any, info: ValidationInfo) -> str:
        return str(value or _named(info).capitalize())

    @field_validator("on_conflict", "conflict_detection", "sync_filter", mode="before")
    @classmethod
    def _setting(cls, value: Any, info: ValidationInfo) -> StrEnum:
        kind = {"on_conflict": Policy, "conflict_detection": Detection}.get(
            str(info.field_name), SyncFilter
        )
        return _member(kind, value, str(info.field_name))

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any, info: ValidationInfo) -> list[Any]:
        return _items(value, "fields", f" of {_named(info)}")

    @field_validator("fields")
    @classmethod
    def _distinct(cls, fields: tuple[Field, ...], info: ValidationInfo) -> tuple[Field, ...]:
        if len({f.name for f in fields}) != len(fields):
            raise ValueError(f"entity {_named(info)} has duplicate field names")
        return fields

    @model_validator(mode="after")
    def _upcoming_is_dated(self) -> Entity:
        named = self.upcoming_field
        if named is None:
            return self
        found = self.field(named)
        if found is None or found.type not in (FieldType.DATE, FieldType.DATETIME):
            raise ValueError(
                f"upcoming_field of {self.name} must name one of its date or datetime fields, "
                f"not {named!r:.80}"
            )
        return self

    def field(self, name: str) -> Field | None:
        """The field called `name`, if the entity has one."""
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def field_names(self) -> tuple[str, ...]:
        """The names of the entity's fields, in order."""
        return tuple(f.name for f in self.fields)

    def missing_from(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """The entity's fields that `values` has no key for, in order."""
        if values.keys() >= self._by_name.keys():  # the usual case
            return ()
        return tuple(name for name in self.field_names if name not in values)

    @cached_property
    def required_fields(self) -> tuple[Field, ...]:
        """The fields that must not be empty."""
        return tuple(f for f in self.fields if f.required)

    @cached_property
    def lookup_fields(self) -> tuple[Field, ...]:
        """The fields that point at a record of another (or the same) entity."""
        return tuple(f for f in self.fields if f.type is FieldType.LOOKUP and f.target)

    def to_dict(self) -> dict[str, Any]:
        """The entity as `GET /v1/project` shows it."""
        return self.model_dump(mode="json")


class Project(_Definition):
    """The versioned set of entities; every lookup targets one of them."""

    version: int = 1
    entities: tuple[Entity, ...] = ()

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"version must be a whole number, not {value!r:.40}") from None

    @field_validator("entities", mode="before")
    @classmethod
    def _entities(cls, value: Any) -> list[Any]:
        return _items(value, "entities")

    @model_validator(mode="after")
    def _references_resolve(self) -> Project:
        names = [e.name for e in self.entities]
        if len(set(names)) != len(names):
            raise ValueError("duplicate entity names")
        for entity in self.entities:
            for f in entity.lookup_fields:
                if f.target not in names:
                    raise ValueError(f"{entity.name}.{f.name} looks up unknown entity {f.target}")
        return self

    def entity(self, name: str) -> Entity | None:
        """The entity called `name`, if there is one."""
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Entity]:
        return {e.name: e for e in self.entities}

    def to_dict(self) -> dict[str, Any]:
        """The project as `GET /v1/project` shows it."""
        return self.model_dump(mode="json")


def _named(info: ValidationInfo) -> str:
    """The name of the entity or field being parsed (its first key, checked already)."""
    return str(info.data.get("name", ""))


def _member(kind: type[E], value: Any, what: str) -> E:
    """`value` as a member of the picklist `kind`, or a refusal naming its members."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        allowed = ", ".join(m.value for m in kind)
        raise ValueError(f"{what} must be one of: {allowed}") from None


def _identifier(value: Any, what: str) -> str:
    """An entity's or a field's name, or a clear refusal."""
    if not isinstance(value, str) or not value.isidentifier():
        raise ValueError(f"{what} name {value!r:.80} is not an identifier")
    if len(value) > NAME_LENGTH:
        raise ValueError(
            f"{what} name {value[:20]}… is {len(value)} characters; "
            f"names are at most {NAME_LENGTH} characters"
        )
    return value


def _items(value: Any, what: str, owner: str = "") -> list[Any]:
    """A list of definitions (entities, fields), absent meaning empty, or a clear refusal."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValueError(f"{what}{owner} must be a list")
    for n, item in enumerate(value, start=1):
        if not isinstance(item, dict | _Definition):
            raise ValueError(f"{what}[{n}]{owner} must be a mapping, not {item!r:.40}")
    return list(value)


def _parsed(kind: type[M], data: Any) -> M:
    """`data` parsed as `kind`, or an `InvalidProject` saying what is wrong first."""
    try:
        return kind.model_validate(data)
    except ValidationError as failure:
        raise InvalidProject(_first_problem(failure)) from None


def _first_problem(failure: ValidationError) -> str:
    """The first problem pydantic found: our own words, or pydantic's with where."""
    problem = failure.errors()[0]
    cause = problem.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else str(problem["msg"])


def project_from_dict(data: Mapping[str, Any]) -> Project:
    """Parse a whole project (as exported), checking lookups point at real entities."""
    return _parsed(Project, data)


# What an admin PUT of an entity may change.
SETTINGS = {"label", "on_conflict", "conflict_detection", "sync_filter", "upcoming_field", "fields"}


def apply_settings(entity: Entity, changes: Mapping[str, Any]) -> Entity:
    """The entity with the settings of an admin PUT applied (only what is given changes)."""
    unknown = set(changes) - SETTINGS
    if unknown:
        raise InvalidProject(f"unknown settings: {', '.join(sorted(unknown))}")
    return _parsed(Entity, {**entity.to_dict(), **changes, "name": entity.name})


def with_entity(project: Project, entity: Entity) -> Project:
    """The next project version, with `entity` replaced or added."""
    entities = list(project.entities)
    names = [e.name for e in entities]
    if entity.name in names:
        entities[names.index(entity.name)] = entity
    else:
        entities.append(entity)
    return _parsed(Project, {"version": project.version + 1, "entities": entities})
