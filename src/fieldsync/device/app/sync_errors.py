"""Sync errors: open conflicts and rejected changes, and the user's decisions about them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fieldsync.conflicts import Choice
from fieldsync.device.app.guard import Posted
from fieldsync.device.app.render import device, page, redirect, syncer
from fieldsync.device.app.words import plain_words
from fieldsync.errors import ValidationFailed
from fieldsync.forms import conflict_choice

router = APIRouter(prefix="/errors")


def _with_words(request: Request, error: dict[str, Any]) -> dict[str, Any]:
    if error["type"] == "rejected":
        entity = device(request).entity(error["entity"])
        return {**error, "words": plain_words(entity, error), "label": entity.label}
    return {**error, "label": device(request).entity(error["entity"]).label}


def _list_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    errors = [_with_words(request, e) for e in device(request).errors()]
    return page(request, "errors.html", status, errors=errors, error=error)


@router.get("")
def listing(request: Request) -> HTMLResponse:
    """Every open conflict and rejected change, with Apply to all."""
    return _list_page(request)


@router.post("/all")
def decide_all(request: Request, form: Posted) -> Response:
    """The same choice for every undecided conflict."""
    use = str(form.get("use"))
    if use not in (Choice.DEVICE.value, Choice.SERVER.value):
        return _list_page(request, "Choose the device's or the server's version.", 422)
    device(request).resolve_all(use)
    syncer(request).changed()
    return redirect("/errors", "decided_all")


def _conflict_page(
    request: Request, conflict_id: str, error: str | None = None, status: int = 200
) -> HTMLResponse:
    found = device(request).conflict(conflict_id)
    if found is None:
        return page(request, "missing.html", 404, entity=None)
    entity = device(request).entity(found["entity"])
    sides = [found["device"] or {}, found["server"] or {}]
    # Fields empty on both sides say nothing about the conflict: a phone screen is short.
    names = [f.name for f in entity.fields if any(side.get(f.name) is not None for side in sides)]
    return page(
        request,
        "conflict.html",
        status,
        conflict=found,
        entity=entity,
        names=names,
        error=error,
    )


@router.get("/conflicts/{conflict_id}")
def conflict(conflict_id: str, request: Request) -> HTMLResponse:
    """The device's and the server's values side by side, and the choices."""
    return _conflict_page(request, conflict_id)


@router.post("/conflicts/{conflict_id}")
def decide(conflict_id: str, request: Request, form: Posted) -> Response:
    """Store the user's choice; the next sync applies it."""
    try:
        use, picks = conflict_choice(form)
        device(request).resolve(conflict_id, use, picks)
    except ValueError:
        return _conflict_page(request, conflict_id, "Choose one of the versions.", 422)
    except ValidationFailed as failure:
        return _conflict_page(request, conflict_id, failure.message, 422)
    syncer(request).changed()
    return redirect("/errors", "decided")


@router.post("/rejected/{entity}/{record_id}/retry")
def retry(entity: str, record_id: str, request: Request, _form: Posted) -> Response:
    """Send the refused change again, as it is."""
    try:
        device(request).retry(entity, record_id)
    except ValidationFailed as failure:
        return _list_page(request, failure.message, 409)
    syncer(request).changed()
    return redirect("/errors", "retry")


@router.post("/rejected/{entity}/{record_id}/discard")
def discard(entity: str, record_id: str, request: Request, _form: Posted) -> Response:
    """Drop the refused change; the record returns to the server's version."""
    try:
        device(request).discard(entity, record_id)
    except ValidationFailed as failure:
        return _list_page(request, failure.message, 409)
    return redirect("/errors", "discarded")
