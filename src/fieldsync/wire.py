"""The v1 wire contract: what the server and the device send each other, typed once.

The requests the server validates are pydantic models (`PushIn`, `ChangeIn`…), as
are the answers it builds once per request. The answers made per change (a push
result, a pulled change, a conflict's status) are TypedDicts, which cost nothing to
build: the server builds them, the device reads them, and the OpenAPI document
describes them through the same types. A device builds the changes it sends as
`Change`, the keys of `ChangeIn`. The picklists are the enums of `conflicts` and
`project`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, NotRequired, cast

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    WithJsonSchema,
)
from pydantic_core import core_schema
from typing_extensions import TypedDict

from fieldsync.conflicts import Choice, ConflictState, Op, Side, Status
from fieldsync.project import LARGEST_INTEGER, Detection, Policy, SyncFilter

MAX_CHANGES = 5_000
MAX_PULL = 10_000
# Past any listing anyone pages through, and well inside the databases' 64-bit integers.
MAX_OFFSET = 1_000_000_000
MAX_PULL_BYTES = 64 * 1024 * 1024
Name = Field(min_length=1, max_length=100)
CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _canonical_uuid(value: str) -> str:
    """A UUID in another of its text forms, in the canonical one (lowercase, dashes);
    a ValueError for anything else."""
    return str(uuid.UUID(value))


# A record id: checked by pydantic-core at once in the canonical form every device
# sends, by Python in any other.
RecordId = Annotated[
    str,
    GetPydanticSchema(
        lambda _type, _handler: core_schema.custom_error_schema(
            core_schema.union_schema(
                [
                    core_schema.str_schema(pattern=CANONICAL_UUID),
                    core_schema.no_info_after_validator_function(
                        _canonical_uuid, core_schema.str_schema()
                    ),
                ],
                mode="left_to_right",
            ),
            "uuid_text",
            custom_error_message="id must be a UUID",
        )
    ),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]


# A device id: a UUID in its canonical text (lowercase, dashes), as a device makes it
# with uuid4. Nothing else, so every id can be named in a URL path and removed.
DeviceId = Annotated[
    str,
    GetPydanticSchema(
        lambda _type, _handler: core_schema.custom_error_schema(
            core_schema.str_schema(pattern=CANONICAL_UUID),
            "bad_id",
            custom_error_message="a device id must be a UUID in lowercase text, as uuid4 makes",
        )
    ),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]


# A JSON object of field values, passed through as decoded and serialized natively:
# copying it would be a third of the cost of reading a push; its values are checked
# against the entity's fields when the change is applied.
Values = Annotated[
    dict[str, Any],
    GetPydanticSchema(
        lambda _type, _handler: core_schema.custom_error_schema(
            core_schema.is_instance_schema(dict),
            "values_object",
            custom_error_message="must be an object of field values",
        )
    ),
    WithJsonSchema({"type": "object", "additionalProperties": True}),
]


class Strict(BaseModel):
    """Refuses unknown keys, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class HealthOut(BaseModel):
    status: Literal["ok"]


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    device_id: DeviceId | None = None


class UserOut(BaseModel):
    id: str
    username: str
    role: str


class LoginOut(BaseModel):
    token: str
    user: UserOut


class ErrorBody(TypedDict):
    """What went wrong: the `error` of an error answer, and of a rejected change's result."""

    code: str
    message: str
    details: NotRequired[Any]


class ErrorOut(BaseModel):
    error: ErrorBody


class ChangeIn(Strict):
    """One device change. `fields` holds the device-changed fields, `record` all of D.

    Every check here is made by pydantic-core, without a call into Python for the
    usual change.
    """

    change_id: str = Name
    entity: str = Field(min_length=1, max_length=64)
    id: RecordId
    op: Op
    # strict: a version is a whole number, never `true` or `1.0`
    base_version: int | None = Field(default=None, ge=0, le=LARGEST_INTEGER, strict=True)
    fields: Values = Field(default_factory=dict)
    record: Values | None = None
    base: Values | None = None
    resolves: str | None = Field(default=None, max_length=100)
    resolution: Choice | None = None
    merged_from: Values | None = None  # a merge: D before it, kept in the journal


# A record's values as a device sends them: decoded, or its stored JSON passed through.
SentValues = dict[str, Any] | orjson.Fragment


class Change(TypedDict):
    """One change as a device builds it: the keys of `ChangeIn`."""

    change_id: str
    entity: str
    id: str
    op: Op
    base_version: int | None
    fields: SentValues
    record: SentValues | None
    base: SentValues | None
    resolves: NotRequired[str]
    resolution: NotRequired[Choice]
    merged_from: NotRequired[SentValues | None]


class PushIn(Strict):
    device_id: DeviceId
    batch_id: str = Name
    changes: list[ChangeIn] = Field(description=f"at most {MAX_CHANGES} changes")


class ChangeResult(TypedDict):
    """What came of one change of a push: `record` is the server's record after it."""

    change_id: str
    status: Status
    version: int | None
    record: dict[str, Any] | None
    deleted: bool
    conflict_id: str | None
    error: ErrorBody | None


class PushOut(TypedDict):
    results: list[ChangeResult]


class PulledChange(TypedDict):
    """The latest state of one record (`record` None when it is deleted)."""

    entity: str
    id: str
    version: int
    deleted: bool
    record: dict[str, Any] | None


def stored_values(text: str) -> dict[str, Any]:
    """A record's values as the server stored them, passed through to an answer as they
    are: encoded, they are the object they hold, which nothing on the server decodes."""
    return cast(dict[str, Any], orjson.Fragment(text))


class PullOut(TypedDict):
    """One page of a pull."""

    changes: list[PulledChange]
    cursor: str
    more: bool
    project_version: int
    total: NotRequired[
        Annotated[
            int,
            Field(description="`count=true` with no cursor: the changes the whole download brings"),
        ]
    ]
    totals: NotRequired[Annotated[dict[str, int], Field(description="`total` per entity")]]


class ConflictStatusIn(Strict):
    device_id: DeviceId
    ids: list[str] = Field(max_length=MAX_CHANGES)


class ResolvedRecord(TypedDict):
    """A record as a conflict's resolution left it (`record` None when it deleted it)."""

    version: int
    deleted: bool
    record: dict[str, Any] | None


class ConflictStatus(TypedDict):
    """Where one of a device's conflicts stands, and its record on the server now.

    `result`: for a resolved conflict, the record as the resolution left it (for one
    superseded and settled at once, as meeting D again left it; for one superseded by a
    conflict since resolved, as that resolution left it), on which the device
    bases the edits it made while the conflict was open (None otherwise, when
    the record is no longer the caller's to sync, or when the server does not know the
    resolution's version). `superseded_by`: for a superseded conflict, the open conflict
    of this device on the same record that took its place, if there is one still open.
    """

    id: str
    status: ConflictState
    outcome: str
    entity: str
    record_id: str
    version: int | None
    deleted: bool
    record: dict[str, Any] | None
    result: ResolvedRecord | None
    superseded_by: str | None


class ConflictStatusOut(TypedDict):
    conflicts: list[ConflictStatus]


class RecordOut(BaseModel):
    entity: str
    id: str
    version: int
    owner: str
    deleted: bool
    record: dict[str, Any]


class AssignIn(Strict):
    owner: str = Field(min_length=1, max_length=100, description="the new owner's username")


class RecordList(BaseModel):
    records: list[RecordOut]
    next_offset: int | None


class EntitySettingsIn(Strict):
    label: str | None = Field(default=None, max_length=100)
    on_conflict: Policy | None = None
    conflict_detection: Detection | None = None
    sync_filter: SyncFilter | None = None
    upcoming_field: str | None = None
    fields: list[dict[str, Any]] | None = None


class Breakage(BaseModel):
    entity: str
    field: str | None = Field(description="None when the whole entity is dropped")
    change: Literal["entity_dropped", "field_dropped", "field_changed"]
    what: str = Field(description="e.g. `dropped`, `type string → integer`")
    records: int = Field(description="live records whose values no longer fit or are dropped")
    open_conflicts: int
    devices: int = Field(description="devices that synced the entity (0 for a changed field)")
    message: str


class CustomizationReport(BaseModel):
    """What a change of the project would break, as far as the server can know."""

    destructive: bool
    breakages: list[Breakage]
    devices: list[str] = Field(description="the devices that have synced")
    pending_edits: str = Field(description="edits pending on devices are unknown to the server")
    message: str


class DestructiveBody(BaseModel):
    code: Literal["destructive_change"]
    message: str
    details: CustomizationReport


class DestructiveOut(BaseModel):
    error: DestructiveBody


class ResolveIn(Strict):
    use: Choice
    fields: dict[str, Side] = Field(default_factory=dict)


class RestoreIn(Strict):
    fields: list[str] | None = None


class UserIn(Strict):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    role: Literal["admin", "user"] = "user"
