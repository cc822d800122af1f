"""Entities: the On Conflict picklist, conflict detection, sync filter, and the fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from fieldsync.errors import ApiError, Unprocessable
from fieldsync.project import LARGEST_INTEGER, Detection, Entity, FieldType, SyncFilter
from fieldsync.server import admin, projects
from fieldsync.server.api.deps import Db
from fieldsync.server.console.render import page, redirect
from fieldsync.server.console.session import Current, Posted, Session

router = APIRouter(prefix="/entities")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _list_page(
    request: Request, current: Session, db: Db, error: str | None = None, status: int = 200
) -> HTMLResponse:
    with db.read() as conn:
        project = projects.current(conn)
    return page(
        request,
        "entities.html",
        status,
        session=current,
        nav="entities",
        project=project,
        detections=[d.value for d in Detection],
        filters=[f.value for f in SyncFilter],
        error=error,
    )


@router.get("")
def entities(request: Request, current: Current, db: Db) -> HTMLResponse:
    """Every entity with its On Conflict policy, detection and sync filter."""
    return _list_page(request, current, db)


@router.post("/{name}")
def save_settings(name: str, request: Request, current: Current, form: Posted, db: Db) -> Response:
    """Publish the entity's new settings as the next project version."""
    changes = {
        key: _text(form, key)
        for key in ("label", "on_conflict", "conflict_detection", "sync_filter")
        if _text(form, key)
    }
    try:
        with db.write() as conn:
            admin.update_entity(conn, current.admin, name, changes)
    except ApiError as failure:
        return _list_page(request, current, db, failure.message, failure.status)
    return redirect("/admin/entities", "saved")


def _fields_page(
    request: Request,
    current: Session,
    db: Db,
    name: str,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    with db.read() as conn:
        project = projects.current(conn)
    entity = projects.entity_in(project, name)
    return page(
        request,
        "entity.html",
        status,
        session=current,
        nav="entities",
        entity=entity,
        types=[t.value for t in FieldType],
        targets=[e.name for e in project.entities],
        error=error,
    )


@router.get("/{name}")
def entity_fields(name: str, request: Request, current: Current, db: Db) -> HTMLResponse:
    """The entity's fields, editable, and a form to add one."""
    return _fields_page(request, current, db, name)


def _max_length(raw: str, field: str) -> int | None:
    if not raw:
        return None
    # ASCII digits only (str.isdigit() takes "²", which int() refuses), and few of them.
    digits = raw.isascii() and raw.isdigit() and len(raw) <= len(str(LARGEST_INTEGER))
    if not digits or not 1 <= int(raw) <= LARGEST_INTEGER:
        raise Unprocessable(f"max length of {field} must be a positive whole number")
    return int(raw)


def _options(raw: str) -> list[str]:
    return [o.strip() for o in raw.replace("\n", ",").split(",") if o.strip()]


def _edited(entity: Entity, form: FormData) -> list[dict[str, Any]]:
    fields = []
    for f in entity.fields:
        data = f.to_dict()
        data["label"] = _text(form, f"label.{f.name}") or f.name
        data["required"] = form.get(f"required.{f.name}") == "on"
        data["max_length"] = _max_length(_text(form, f"max_length.{f.name}"), f.name)
        if f.type is FieldType.PICKLIST:
            data["options"] = _options(_text(form, f"options.{f.name}"))
        fields.append(data)
    return fields


@router.post("/{name}/fields")
def save_fields(name: str, request: Request, current: Current, form: Posted, db: Db) -> Response:
    """Change labels, required, max lengths and picklist options of existing fields."""
    try:
        with db.write() as conn:
            entity = projects.entity(conn, name)
            admin.update_entity(conn, current.admin, name, {"fields": _edited(entity, form)})
    except ApiError as failure:
        return _fields_page(request, current, db, name, failure.message, failure.status)
    return redirect(f"/admin/entities/{name}", "saved")


def _new_field(form: FormData) -> dict[str, Any]:
    name = _text(form, "name")
    return {
        "name": name,
        "type": _text(form, "type"),
        "label": _text(form, "label") or name,
        "required": form.get("required") == "on",
        "max_length": _max_length(_text(form, "max_length"), name),
        "options": _options(_text(form, "options")),
        "target": _text(form, "target") or None,
    }


@router.post("/{name}/fields/new")
def add_field(name: str, request: Request, current: Current, form: Posted, db: Db) -> Response:
    """Add a field to the entity."""
    try:
        added = _new_field(form)
        with db.write() as conn:
            entity = projects.entity(conn, name)
            if entity.field(added["name"]) is not None:
                raise Unprocessable(f"{name} has a field {added['name']} already")
            fields = [f.to_dict() for f in entity.fields] + [added]
            admin.update_entity(conn, current.admin, name, {"fields": fields})
    except ApiError as failure:
        return _fields_page(request, current, db, name, failure.message, failure.status)
    return redirect(f"/admin/entities/{name}", "field_added")
