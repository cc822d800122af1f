"""Entities: the On Conflict picklist, conflict detection, sync filter, and the fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from fieldsync import forms
from fieldsync.errors import ApiError, Refused, Unprocessable, as_api_error
from fieldsync.project import LARGEST_INTEGER, Detection, Entity, FieldType, SyncFilter
from fieldsync.server import admin, projects
from fieldsync.server.api.deps import Db
from fieldsync.server.console.render import page, redirect
from fieldsync.server.console.session import Current, Posted, Session

router = APIRouter(prefix="/entities")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# The settings each row of the Entities page edits; a field is named `setting.entity`.
SETTINGS = ("label", "on_conflict", "conflict_detection", "sync_filter")


def _list_page(
    request: Request,
    current: Session,
    db: Db,
    error: str | None = None,
    status: int = 200,
    typed: FormData | None = None,
) -> HTMLResponse:
    """The Entities page; `typed`: a refused form, whose values it shows again."""
    with db.read() as conn:
        project = projects.current(conn)
    shown = [
        {**e.to_dict(), **_changes(e, typed)} if typed else e.to_dict() for e in project.entities
    ]
    return page(
        request,
        "entities.html",
        status,
        session=current,
        nav="entities",
        project=project,
        shown=shown,
        detections=[d.value for d in Detection],
        filters=[f.value for f in SyncFilter],
        error=error,
    )


@router.get("")
def entities(request: Request, current: Current, db: Db) -> HTMLResponse:
    """Every entity with its On Conflict policy, detection and sync filter."""
    return _list_page(request, current, db)


@router.post("")
def save_settings(request: Request, current: Current, form: Posted, db: Db) -> Response:
    """Publish what the form changed, of every entity at once; nothing when one is refused."""
    try:
        with db.write() as conn:
            changed = {e.name: _changes(e, form) for e in projects.current(conn).entities}
            for name, changes in changed.items():
                if changes:
                    admin.update_entity(conn, current.admin, name, changes)
    except Refused as refused:
        failure = as_api_error(refused)
        return _list_page(request, current, db, failure.message, failure.status, form)
    return redirect("/admin/entities", "saved" if any(changed.values()) else "unchanged")


def _changes(entity: Entity, form: FormData) -> dict[str, str]:
    """The settings of `entity` whose value in the form differs from the stored one (a
    field left empty changes nothing)."""
    stored = entity.to_dict()
    typed = {key: _text(form, f"{key}.{entity.name}") for key in SETTINGS}
    return {key: value for key, value in typed.items() if value and value != stored[key]}


def _fields_page(
    request: Request,
    current: Session,
    db: Db,
    name: str,
    error: str | None = None,
    status: int = 200,
    destructive: dict[str, Any] | None = None,
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
        destructive=destructive,
    )


def _refused(
    request: Request, current: Session, db: Db, name: str, failure: ApiError, form: FormData
) -> HTMLResponse:
    """The fields page with the reason; for a destructive change, its report and a form
    that posts the same values again, confirmed."""
    destructive = None
    if failure.code == "destructive_change":
        destructive = {
            "report": failure.details,
            "action": request.url.path,
            "values": [(k, v) for k, v in form.multi_items() if k not in ("csrf", "confirm")],
        }
    return _fields_page(request, current, db, name, failure.message, failure.status, destructive)


def _confirmed(form: FormData) -> bool:
    return form.get("confirm") == "yes"


@router.get("/{name}")
def entity_fields(name: str, request: Request, current: Current, db: Db) -> HTMLResponse:
    """The entity's fields, editable, and a form to add one."""
    return _fields_page(request, current, db, name)


def _max_length(raw: str, field: str) -> int | None:
    if not raw:
        return None
    try:
        value = forms.integer(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= LARGEST_INTEGER:
        raise Unprocessable(f"max length of {field} must be a positive whole number")
    return value


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
            fields = {"fields": _edited(entity, form)}
            admin.update_entity(conn, current.admin, name, fields, confirm=_confirmed(form))
    except Refused as failure:
        return _refused(request, current, db, name, as_api_error(failure), form)
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
            admin.update_entity(
                conn, current.admin, name, {"fields": fields}, confirm=_confirmed(form)
            )
    except Refused as failure:
        return _refused(request, current, db, name, as_api_error(failure), form)
    return redirect(f"/admin/entities/{name}", "field_added")
