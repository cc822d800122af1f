"""The app's pages: every page shows the user, the sync state and the Sync errors count."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from fieldsync.device import Device
from fieldsync.device.app.syncer import Syncer
from fieldsync.device.sync_errors import WHAT_HAPPENED
from fieldsync.web import Pages

NOTICES = {
    "saved": "Saved on this device.",
    "created": "Created on this device.",
    "deleted": "Deleted on this device.",
    "sync_started": "Sync started.",
    "decided": "Your choice is saved; the next sync applies it.",
    "decided_all": "Your choice is saved for every conflict; the next sync applies it.",
    "retry": "The change will be sent again at the next sync.",
    "discarded": "Your change is discarded; the record is back to the server's version.",
    "settings_saved": "Sync settings saved.",
    "logged_in": "Logged in. The first sync downloads your records.",
}

_pages = Pages("fieldsync.device.app", NOTICES, what_happened=WHAT_HAPPENED)


def device(request: Request) -> Device:
    """The device the app shows."""
    found: Device = request.app.state.device
    return found


def syncer(request: Request) -> Syncer:
    """The app's sync thread."""
    found: Syncer = request.app.state.syncer
    return found


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page with the app's frame: user, sync state, Sync errors count, CSRF token."""
    shown = device(request)
    user = shown.store.get_meta("user")
    frame = {
        "user": user,
        "csrf": request.app.state.csrf,
        "sync": syncer(request).status(),
        "last_sync": shown.store.get_meta("last_sync"),
        "error_count": shown.error_count() if user else 0,
    }
    return _pages.page(request, template, status, **frame, **context)


def redirect(path: str, notice: str | None = None) -> RedirectResponse:
    """See other, with a notice."""
    return _pages.redirect(path, notice)
