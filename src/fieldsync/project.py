"""The customization: entities, their fields, and per entity the On Conflict policy.

A `Project` is plain data, shared by the server (which stores and validates against
it) and the device (which downloads it with `GET /v1/project`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar

from fieldsync.errors import Unprocessable

E = TypeVar("E", bound=StrEnum)

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


@dataclass(frozen=True)
class Field:
    """One field of an entity."""

    name: str
    type: FieldType
    label: str = ""
    required: bool = False
    max_length: int | None = None
    options: tuple[str, ...] = ()
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The field as `GET /v1/project` shows it."""
        return {
            "name": self.name,
            "type": self.type.value,
            "label": self.label or self.name,
            "required": self.required,
            "max_length": self.max_length,
            "options": list(self.options),
            "target": self.target,
        }


@dataclass(frozen=True)
class Entity:
    """One entity of the project with its conflict settings."""

    name: str
    label: str
    fields: tuple[Field, ...]
    on_conflict: Policy = Policy.SERVER_WINS
    conflict_detection: Detection = Detection.RECORD
    sync_filter: SyncFilter = SyncFilter.ALL

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
        return {
            "name": self.name,
            "label": self.label,
            "on_conflict": self.on_conflict.value,
            "conflict_detection": self.conflict_detection.value,
            "sync_filter": self.sync_filter.value,
            "fields": [f.to_dict() for f in self.fields],
        }


@dataclass(frozen=True)
class Project:
    """The versioned set of entities."""

    version: int
    entities: tuple[Entity, ...] = field(default_factory=tuple)

    def entity(self, name: str) -> Entity | None:
        """The entity called `name`, if there is one."""
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Entity]:
        return {e.name: e for e in self.entities}

    def to_dict(self) -> dict[str, Any]:
        """The project as `GET /v1/project` shows it."""
        return {"version": self.version, "entities": [e.to_dict() for e in self.entities]}


def _enum(kind: type[E], value: Any, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise Unprocessable(f"{what} must be one of: {allowed}", code="invalid_setting") from None


def _name(value: Any, what: str) -> str:
    """An entity's or a field's name, or a clear refusal."""
    if not isinstance(value, str) or not value.isidentifier():
        raise Unprocessable(
            f"{what} name {value!r:.80} is not an identifier", code="invalid_setting"
        )
    if len(value) > NAME_LENGTH:
        raise Unprocessable(
            f"{what} name {value[:20]}… is {len(value)} characters; "
            f"names are at most {NAME_LENGTH} characters",
            code="invalid_setting",
        )
    return value


def _items(value: Any, what: str, of: str = "") -> list[dict[str, Any]]:
    """A list of mappings (entities, fields), absent meaning empty, or a clear refusal."""
    owner = f" of {of}" if of else ""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unprocessable(f"{what}{owner} must be a list", code="invalid_setting")
    for n, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise Unprocessable(
                f"{what}[{n}]{owner} must be a mapping, not {item!r:.40}", code="invalid_setting"
            )
    return value


def field_from_dict(data: dict[str, Any]) -> Field:
    """Parse one field definition, refusing anything malformed."""
    name = _name(data.get("name"), "field")
    ftype = _enum(FieldType, data.get("type"), f"type of field {name}")
    options = tuple(str(o) for o in data.get("options") or ())
    if ftype is FieldType.PICKLIST and not options:
        raise Unprocessable(f"picklist {name} needs options", code="invalid_setting")
    target = data.get("target")
    if ftype is FieldType.LOOKUP and not isinstance(target, str):
        raise Unprocessable(f"lookup {name} needs a target entity", code="invalid_setting")
    max_length = data.get("max_length")
    if max_length is not None and (
        type(max_length) is not int or not 1 <= max_length <= LARGEST_INTEGER  # not a bool
    ):
        raise Unprocessable(
            f"max_length of {name} must be a positive 64-bit integer", code="invalid_setting"
        )
    return Field(
        name=name,
        type=ftype,
        label=str(data.get("label") or name),
        required=bool(data.get("required", False)),
        max_length=max_length,
        options=options,
        target=target if ftype is FieldType.LOOKUP else None,
    )


def entity_from_dict(data: dict[str, Any]) -> Entity:
    """Parse one entity definition, refusing anything malformed."""
    name = _name(data.get("name"), "entity")
    fields = tuple(field_from_dict(f) for f in _items(data.get("fields"), "fields", name))
    if len({f.name for f in fields}) != len(fields):
        raise Unprocessable(f"entity {name} has duplicate field names", code="invalid_setting")
    return Entity(
        name=name,
        label=str(data.get("label") or name.capitalize()),
        fields=fields,
        on_conflict=_enum(Policy, data.get("on_conflict", "server_wins"), "on_conflict"),
        conflict_detection=_enum(
            Detection, data.get("conflict_detection", "record"), "conflict_detection"
        ),
        sync_filter=_enum(SyncFilter, data.get("sync_filter", "all"), "sync_filter"),
    )


def apply_settings(entity: Entity, changes: dict[str, Any]) -> Entity:
    """The entity with the settings of an admin PUT applied (only what is given changes)."""
    unknown = set(changes) - {"label", "on_conflict", "conflict_detection", "sync_filter", "fields"}
    if unknown:
        raise Unprocessable(
            f"unknown settings: {', '.join(sorted(unknown))}", code="invalid_setting"
        )
    merged = entity.to_dict() | changes
    merged["name"] = entity.name
    return entity_from_dict(merged)


def project_from_dict(data: dict[str, Any]) -> Project:
    """Parse a whole project (as exported), checking lookups point at real entities."""
    entities = tuple(entity_from_dict(e) for e in _items(data.get("entities"), "entities"))
    check_references(entities)
    try:
        version = int(data.get("version", 1))
    except (TypeError, ValueError):
        raise Unprocessable(
            f"version must be a whole number, not {data.get('version')!r:.40}",
            code="invalid_setting",
        ) from None
    return Project(version=version, entities=entities)


def check_references(entities: tuple[Entity, ...]) -> None:
    """Refuse duplicate entity names and lookups to entities that do not exist."""
    names = [e.name for e in entities]
    if len(set(names)) != len(names):
        raise Unprocessable("duplicate entity names", code="invalid_setting")
    for entity in entities:
        for f in entity.fields:
            if f.type is FieldType.LOOKUP and f.target not in names:
                raise Unprocessable(
                    f"{entity.name}.{f.name} looks up unknown entity {f.target}",
                    code="invalid_setting",
                )


def _f(name: str, ftype: FieldType = FieldType.STRING, **kw: Any) -> Field:
    return Field(name=name, type=ftype, label=name.replace("_", " ").capitalize(), **kw)


DEMO_ENTITIES = (
    Entity(
        name="account",
        label="Account",
        fields=(
            _f("name", required=True, max_length=160),
            _f("phone", max_length=50),
            _f("email", max_length=100),
            _f("street", max_length=250),
            _f("city", max_length=80),
            _f("zip", max_length=20),
            _f("country", max_length=80),
            _f("revenue", FieldType.DECIMAL),
            _f("employees", FieldType.INTEGER),
            _f(
                "industry",
                FieldType.PICKLIST,
                options=("Agriculture", "Construction", "Consulting", "Manufacturing", "Retail"),
            ),
            _f("description", FieldType.TEXT, max_length=2000),
            _f("active", FieldType.BOOLEAN),
        ),
    ),
    Entity(
        name="contact",
        label="Contact",
        fields=(
            _f("firstname", max_length=50),
            _f("lastname", required=True, max_length=50),
            _f("email", max_length=100),
            _f("phone", max_length=50),
            _f("jobtitle", max_length=100),
            _f("account", FieldType.LOOKUP, target="account"),
        ),
    ),
    Entity(
        name="appointment",
        label="Appointment",
        fields=(
            _f("subject", required=True, max_length=200),
            _f("start", FieldType.DATETIME),
            _f("end", FieldType.DATETIME),
            _f("location", max_length=200),
            _f("regarding", FieldType.LOOKUP, target="account"),
            _f("description", FieldType.TEXT, max_length=2000),
        ),
    ),
)


def demo_project() -> Project:
    """The project a new server starts with: account, contact, appointment."""
    return Project(version=1, entities=DEMO_ENTITIES)


def with_entity(project: Project, entity: Entity) -> Project:
    """The next project version, with `entity` replaced or added."""
    others = [e for e in project.entities if e.name != entity.name]
    position = next((i for i, e in enumerate(project.entities) if e.name == entity.name), None)
    entities = list(others)
    entities.insert(position if position is not None else len(entities), entity)
    check_references(tuple(entities))
    return replace(project, version=project.version + 1, entities=tuple(entities))
