"""The admin API: entity settings (On Conflict…), users, devices, conflicts and the journal."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from fieldsync.conflicts import Choice
from fieldsync.server import admin, journal, projects, users
from fieldsync.server.api.deps import JSON, Admin, Db, OrjsonRoute
from fieldsync.server.wire import EntitySettingsIn, ResolveIn, RestoreIn, UserIn

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=OrjsonRoute)


@router.get("/entities/{name}")
def get_entity(name: str, _admin: Admin, db: Db) -> dict[str, Any]:
    """One entity with its fields and conflict settings."""
    with db.read() as conn:
        return projects.entity(conn, name).to_dict()


@router.put("/entities/{name}")
def put_entity(name: str, body: EntitySettingsIn, who: Admin, db: Db) -> dict[str, Any]:
    """Change what is given (e.g. `{"on_conflict": "user_action"}`); devices get it next sync."""
    with db.write() as conn:
        return admin.update_entity(conn, who, name, body.model_dump(exclude_none=True)).to_dict()


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
    status: Literal["open", "resolved", "superseded"] | None = None,
    device_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSON:
    """The journal, newest first: every conflict with base, device and server values."""
    filters = {
        "entity": entity,
        "policy": policy,
        "outcome": outcome,
        "status": status,
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
    """Remote resolution of an open User Action conflict; the device gets it next sync."""
    picks = {f: Choice(side) for f, side in body.fields.items()}
    with db.write() as conn:
        entry = admin.resolve_conflict(conn, who, entry_id, Choice(body.use), picks)
    return JSON(entry.to_wire())


@router.post("/journal/{entry_id}/restore")
def restore(entry_id: str, who: Admin, db: Db, body: RestoreIn | None = None) -> JSON:
    """Write the losing values of a journal entry back as a new server change."""
    with db.write() as conn:
        stored = admin.restore(conn, who, entry_id, body.fields if body else None)
    return JSON(stored.to_wire())
