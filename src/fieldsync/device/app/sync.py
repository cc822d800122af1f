"""The Sync button and its live progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fieldsync.device.app.guard import Posted
from fieldsync.device.app.render import device, page, redirect, syncer

router = APIRouter(prefix="/sync")


@router.post("")
def start(request: Request, _form: Posted) -> Response:
    """Sync now; the sync page follows it (pages with JavaScript show it in place)."""
    syncer(request).request()
    return redirect("/sync", "sync_started")


@router.get("")
def progress(request: Request) -> HTMLResponse:
    """The sync in progress, or the summary of the last one."""
    return page(request, "sync.html")


@router.get("/status")
def status(request: Request) -> dict[str, Any]:
    """The sync state, the Sync errors count and the unsynced changes, as JSON."""
    shown = device(request)
    logged_in = shown.store.get_meta("user") is not None
    return {
        **syncer(request).status(),
        "errors": shown.error_count() if logged_in else 0,
        "unsynced": shown.unsynced(),
        "last_sync": shown.store.get_meta("last_sync"),
    }
