"""The admin API: entity settings (On Conflict…), users, devices, conflicts and the journal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from fieldsync.conflicts import Choice, ConflictState
from fieldsync.errors import Superseded, Unprocessable
from fieldsync.server import admin, journal, projects, users
from fieldsync.server.api.deps import JSON, Admin, Db, OrjsonRoute
from fieldsync.wire import (
    MAX_OFFSET,
    CustomizationReport,
    DestructiveOut,
    EntitySettingsIn,
    ResolveIn,
    RestoreIn,
    UserIn,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=OrjsonRoute)


@router.get("/entities/{name}")
def get_entity(name: str, _admin: Admin, db: Db) -> dict[str, Any]:
    """One entity with its fields and conflict settings."""
    with db.read() as conn:
        return projects.entity(conn, name).to_dict()


@router.put(
    "/entities/{name}",
    responses={
        200: {
            "model": dict[str, Any] | CustomizationReport,
            "description": "the entity as published; with `dry_run`, the report",
        },
        409: {"model": DestructiveOut, "description": "`destructive_change`: not confirmed"},
    },
)
def put_entity(
    name: str,
    body: EntitySettingsIn,
    who: Admin,
    db: Db,
    dry_run: Annotated[
        bool, Query(description="Return what the change would break; change nothing.")
    ] = False,
    confirm: Annotated[
        bool, Query(description="Apply a destructive change (after a dry run showed it).")
    ] = False,
) -> dict[str, Any]:
    """Change what is given (e.g. `{"on_conflict": "user_action"}`); devices get it next sync.

    A change that breaks stored data (a field or the entity dropped, values that no
    longer fit) is refused with 409 `destructive_change` unless `confirm=true`.
    """
    changes = _settings(body)
    if dry_run and confirm:
        raise Unprocessable("dry_run and confirm exclude each other", code="invalid_params")
    if dry_run:
        with db.read() as conn:
            return admin.preview_entity(conn, name, changes).to_dict()
    with db.write() as conn:
        return admin.update_entity(conn, who, name, changes, confirm=confirm).to_dict()


def _settings(body: EntitySettingsIn) -> dict[str, Any]:
    """The settings given; a null unsets the one setting that may be unset."""
    changes = body.model_dump(mode="json", exclude_none=True)
    if "upcoming_field" in body.model_fields_set and body.upcoming_field is None:
        changes["upcoming_field"] = None  # no record is upcoming any more
    return changes


@router.get("/users")
def list_users(_admin: Admin, db: Db) -> dict[str, Any]:
    """Every user."""
    with db.read() as conn:
        return {"users": users.list_users(conn)}


@router.post("/users", status_code=201)
def add_user(body: UserIn, _admin: Admin, db: Db) -> dict[str, Any]:
    """Add a user."""
    with db.write() as conn:
        user_id = users.enroll(conn, body.username, body.password, admin=body.role == "admin")
    return {"id": user_id, "username": body.username, "role": body.role}


@router.get("/devices")
def list_devices(_admin: Admin, db: Db) -> dict[str, Any]:
    """Every device with its last sync and open conflicts."""
    with db.read() as conn:
        return {"devices": admin.list_devices(conn)}


@router.delete("/devices/{device_id}", status_code=204)
def remove_device(device_id: str, _admin: Admin, db: Db) -> None:
    """Forget a device: its tokens are revoked, and its user may register another."""
    with db.write() as conn:
        users.remove_device(conn, device_id)


@router.get("/conflicts")
def list_conflicts(
    _admin: Admin,
    db: Db,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    policy: Annotated[str | None, Query(max_length=30)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    status: ConflictState | None = None,
    device_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> JSON:
    """The journal, newest first: every conflict with base, device and server values."""
    filters = {
        "entity": entity,
        "policy": policy,
        "outcome": outcome,
        "status": None if status is None else status.value,
        "device_id": device_id,
    }
    with db.read() as conn:
        entries = journal.listing(conn, filters, limit=limit, offset=offset)
    return JSON({"conflicts": [e.to_wire() for e in entries]})


@router.get("/conflicts/{entry_id}")
def get_conflict(entry_id: str, _admin: Admin, db: Db) -> JSON:
    """One journal entry."""
    with db.read() as conn:
        return JSON(journal.get(conn, entry_id).to_wire())


@router.post("/conflicts/{entry_id}/resolve")
def resolve_conflict(entry_id: str, body: ResolveIn, who: Admin, db: Db) -> JSON:
    """Remote resolution of an open User Action conflict; the device gets it next sync.

    `409 conflict_superseded` when the server changed the record after the conflict
    opened: nothing is written, and `details.conflict_id` names the new conflict
    that shows the newest server version."""
    picks = {f: Choice(side) for f, side in body.fields.items()}
    with db.write() as conn:
        entry = admin.resolve_conflict(conn, who, entry_id, body.use, picks)
    if isinstance(entry, Superseded):
        raise entry  # once the new conflict is committed
    return JSON(entry.to_wire())


@router.post("/journal/{entry_id}/restore")
def restore(entry_id: str, who: Admin, db: Db, body: RestoreIn | None = None) -> JSON:
    """Write the losing values of a journal entry back as a new server change."""
    with db.write() as conn:
        stored = admin.restore(conn, who, entry_id, body.fields if body else None)
    return JSON(stored.to_wire())
