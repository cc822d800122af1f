"""Records: the back office's side of a conflict, through the same code as the records API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from fieldsync.errors import ApiError, BadRequest, Refused, as_api_error
from fieldsync.forms import changed_values, shown, submitted_texts
from fieldsync.server import crm, projects, users
from fieldsync.server.api.deps import Db
from fieldsync.server.console.render import page, redirect
from fieldsync.server.console.session import Current, Posted, Session
from fieldsync.server.records import StoredRecord
from fieldsync.wire import MAX_OFFSET

router = APIRouter(prefix="/records")
PAGE = 50
COLUMNS = 4  # fields shown in the list


@router.get("")
def first_entity(current: Current, db: Db) -> Response:
    """The records of the project's first entity."""
    with db.read() as conn:
        first = projects.current(conn).entities[0].name
    return redirect(f"/admin/records/{first}")


@router.get("/{entity}")
def listing(
    entity: str,
    request: Request,
    current: Current,
    db: Db,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> HTMLResponse:
    """An entity's live records, most recently changed first, with a search box."""
    with db.read() as conn:
        project = projects.current(conn)
        found = crm.listing(
            conn, current.admin, entity, limit=PAGE + 1, offset=offset, search=q.strip() or None
        )
        names = users.usernames(conn)
    shape = projects.entity_in(project, entity)
    return page(
        request,
        "records.html",
        session=current,
        nav="records",
        entity=shape,
        entities=project.entities,
        columns=shape.fields[:COLUMNS],
        records=found[:PAGE],
        names=names,
        q=q,
        offset=offset,
        more=len(found) > PAGE,
        page_size=PAGE,
    )


def _form_page(
    request: Request,
    current: Session,
    db: Db,
    entity_name: str,
    record_id: str | None,
    error: str | None = None,
    status: int = 200,
    submitted: Mapping[str, Any] | None = None,
    clashes: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    with db.read() as conn:
        entity = projects.entity(conn, entity_name)
        stored = crm.read(conn, current.admin, entity_name, record_id) if record_id else None
        names = users.usernames(conn)
    values: dict[str, Any] = stored.data if stored else {}
    originals = values
    version: object = stored.version if stored else None
    if submitted is not None:  # show what was typed, against the version it was typed on
        values = submitted_texts(entity, submitted, "f.")
        originals = submitted_texts(entity, submitted, "o.")
        version = submitted.get("version")
    return page(
        request,
        "record.html",
        status,
        session=current,
        nav="records",
        entity=entity,
        record=stored,
        values=values,
        originals=originals,
        version=version,
        clashes=clashes or {},
        owner=names.get(stored.owner_id, stored.owner_id) if stored else None,
        error=error,
    )


@router.get("/{entity}/new")
def new_record(entity: str, request: Request, current: Current, db: Db) -> HTMLResponse:
    """An empty form for a new record."""
    return _form_page(request, current, db, entity, None)


@router.get("/{entity}/{record_id}")
def record(entity: str, record_id: str, request: Request, current: Current, db: Db) -> HTMLResponse:
    """One record as a form built from the entity's fields."""
    return _form_page(request, current, db, entity, record_id)


@router.post("/{entity}/new")
def create(entity: str, request: Request, current: Current, form: Posted, db: Db) -> Response:
    """Create a record from the form."""
    try:
        with db.write() as conn:
            typed = changed_values(projects.entity(conn, entity), form)
            values = {k: v for k, v in typed.items() if v is not None}
            stored = crm.create(conn, current.admin, entity, values)
    except Refused as refused:
        failure = as_api_error(refused)
        return _form_page(request, current, db, entity, None, failure.message, failure.status, form)
    return redirect(f"/admin/records/{entity}/{stored.id}", "record_created")


@router.post("/{entity}/{record_id}")
def save(
    entity: str, record_id: str, request: Request, current: Current, form: Posted, db: Db
) -> Response:
    """Write the fields the form changed, over the newest version of the record.

    When someone else saved the record since the form was loaded, their changes stay;
    only a field both changed, to different values, is asked about, and nothing is
    written until the form is saved again.
    """
    try:
        with db.write() as conn:
            shape = projects.entity(conn, entity)
            edited = changed_values(shape, form)
            newest = crm.read(conn, current.admin, entity, record_id)
            seen = _form_version(form)
            clashes = _clashes(newest, seen, edited)
            if not clashes:
                crm.update(conn, current.admin, entity, record_id, edited, str(newest.version))
    except Refused as refused:
        failure = as_api_error(refused)
        return _form_page(
            request, current, db, entity, record_id, failure.message, failure.status, form
        )
    if clashes:
        labels = ", ".join(f.label or f.name for f in shape.fields if f.name in clashes)
        message = (
            f"Someone else changed {labels} meanwhile. Their value and what you typed are "
            "shown below; saving again keeps what you typed."
        )
        rebased = _rebased(form, newest, edited)
        return _form_page(request, current, db, entity, record_id, message, 409, rebased, clashes)
    notice = "record_merged" if newest.version != seen else "record_saved"
    if not edited:
        notice = "record_unchanged"
    return redirect(f"/admin/records/{entity}/{record_id}", notice)


def _form_version(form: FormData) -> int:
    """The record version the form was loaded at."""
    try:
        return int(str(form.get("version")))
    except ValueError:
        raise BadRequest(
            "the form has no record version; reload the record", code="bad_form"
        ) from None


def _clashes(newest: StoredRecord, seen: int, edited: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the form changed that someone else changed since `seen` to another
    value, with their value now (a deleted record has none: the update refuses it)."""
    if newest.deleted:
        return {}
    theirs = newest.changed_since(seen)
    return {
        name: newest.data.get(name)
        for name, value in edited.items()
        if name in theirs and newest.data.get(name) != value
    }


def _rebased(form: FormData, newest: StoredRecord, edited: Mapping[str, Any]) -> dict[str, Any]:
    """The form over the newest version: what was typed in the fields the user changed,
    the newest values in the others."""
    texts: dict[str, Any] = {f"o.{name}": shown(value) for name, value in newest.data.items()}
    texts |= {f"f.{name}": shown(value) for name, value in newest.data.items()}
    texts |= {f"f.{name}": form.get(f"f.{name}") for name in edited}
    return {**texts, "version": newest.version}


@router.post("/{entity}/{record_id}/delete")
def delete(
    entity: str, record_id: str, request: Request, current: Current, form: Posted, db: Db
) -> Response:
    """Delete the record (a tombstone keeps its values), unless it changed since the form."""
    try:
        with db.write() as conn:
            crm.delete(conn, current.admin, entity, record_id, str(form.get("version")))
    except ApiError as failure:
        return _form_page(request, current, db, entity, record_id, failure.message, failure.status)
    return redirect(f"/admin/records/{entity}", "record_deleted")
