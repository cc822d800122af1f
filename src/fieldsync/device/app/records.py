"""Record lists, forms, create, edit, delete: all offline, on the device's store."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from fieldsync.device import Device
from fieldsync.device.app.guard import Posted
from fieldsync.device.app.render import device, page, redirect, syncer
from fieldsync.device.app.words import plain_words
from fieldsync.device.store import loads
from fieldsync.errors import ValidationFailed
from fieldsync.forms import changed_values, submitted_texts
from fieldsync.project import Entity, FieldType

router = APIRouter(prefix="/e")
PAGE = 50
PICKER_LIMIT = 500
# Past any list anyone pages through, and well inside SQLite's 64-bit integers.
MAX_OFFSET = 1_000_000_000


@router.get("/{entity}")
def listing(
    entity: str,
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> HTMLResponse:
    """An entity's records on the device, unsynced first, with a search box."""
    shown = device(request)
    found = shown.browse(entity, q.strip(), PAGE + 1, offset)
    return page(
        request,
        "list.html",
        entity=shown.entity(entity),
        items=found[:PAGE],
        q=q,
        offset=offset,
        more=len(found) > PAGE,
        page_size=PAGE,
    )


def _pickers(shown: Device, entity: Entity) -> dict[str, list[tuple[str, str]]]:
    """For each lookup field, the target's records as (id, label) choices."""
    choices = {}
    for f in entity.fields:
        if f.type is FieldType.LOOKUP and f.target:
            target = shown.entity(f.target)
            first = target.fields[0].name
            found = shown.browse(target.name, limit=PICKER_LIMIT)
            labels = [(i.id, str(i.values.get(first) or i.id[:8])) for i in found]
            choices[f.name] = sorted(labels, key=lambda pair: pair[1].lower())
    return choices


def _form_page(
    request: Request,
    entity_name: str,
    record_id: str | None,
    error: str | None = None,
    submitted: FormData | None = None,
) -> HTMLResponse:
    shown = device(request)
    entity = shown.entity(entity_name)
    row = shown.store.row(entity.name, record_id) if record_id else None
    if record_id and (row is None or row["data"] is None):
        return page(request, "missing.html", 404, entity=entity)
    values: dict[str, Any] = loads(row["data"]) if row else {}
    originals = values
    if submitted is not None:  # show what was typed, against what the form was loaded with
        values = submitted_texts(entity, submitted, "f.")
        originals = submitted_texts(entity, submitted, "o.")
    rejection = loads(row["error"]) if row and row["error"] else None
    return page(
        request,
        "record.html",
        422 if error else 200,
        entity=entity,
        record_id=record_id,
        row=row,
        values=values,
        originals=originals,
        pickers=_pickers(shown, entity),
        rejection=rejection,
        rejection_words=plain_words(entity, rejection) if rejection else None,
        error=error,
    )


@router.get("/{entity}/new")
def new(entity: str, request: Request) -> HTMLResponse:
    """An empty form."""
    return _form_page(request, entity, None)


@router.get("/{entity}/{record_id}")
def record(entity: str, record_id: str, request: Request) -> HTMLResponse:
    """A record's form."""
    return _form_page(request, entity, record_id)


@router.post("/{entity}/new")
def create(entity: str, request: Request, form: Posted) -> Response:
    """Create the record on the device; the next sync sends it."""
    shown = device(request)
    try:
        values = changed_values(shown.entity(entity), form)
        record_id = shown.create(entity, {k: v for k, v in values.items() if v is not None})
    except ValidationFailed as failure:
        return _form_page(request, entity, None, failure.message, form)
    syncer(request).changed()
    return redirect(f"/e/{entity}/{record_id}", "created")


@router.post("/{entity}/{record_id}")
def save(entity: str, record_id: str, request: Request, form: Posted) -> Response:
    """Save the fields the form changed (saving a rejected record retries it)."""
    shown = device(request)
    try:
        values = changed_values(shown.entity(entity), form)
        before = shown.get(entity, record_id) or {}
        changed = {k: v for k, v in values.items() if before.get(k) != v}
        row = shown.store.row(entity, record_id)
        if changed or (row is not None and row["error"] is not None):
            shown.update(entity, record_id, changed)
    except ValidationFailed as failure:
        return _form_page(request, entity, record_id, failure.message, form)
    syncer(request).changed()
    return redirect(f"/e/{entity}/{record_id}", "saved")


@router.post("/{entity}/{record_id}/delete")
def delete(entity: str, record_id: str, request: Request, _form: Posted) -> Response:
    """Delete the record on the device; the next sync sends the delete."""
    try:
        device(request).delete(entity, record_id)
    except ValidationFailed as failure:
        return _form_page(request, entity, record_id, failure.message)
    syncer(request).changed()
    return redirect(f"/e/{entity}", "deleted")
