"""Home, logging in, and the sync settings."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fieldsync.device import Device, address
from fieldsync.device.app.guard import Posted
from fieldsync.device.app.render import device, page, redirect, syncer
from fieldsync.device.app.syncer import SETTINGS_KEY, AutoSync
from fieldsync.errors import CertificateRejected, DeviceError, Offline, ValidationFailed

router = APIRouter()


@router.get("/")
def home(request: Request) -> Response:
    """The entities with their record counts, the unsynced changes, the Sync errors banner."""
    shown = device(request)
    if shown.store.get_meta("user") is None:
        return redirect("/login")
    counts = shown.counts()
    entities = [(e, *counts.get(e.name, (0, 0))) for e in shown.project.entities]
    unsynced = sum(pending for _, pending in counts.values())
    return page(request, "home.html", entities=entities, unsynced=unsynced)


def _login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    server = device(request).store.get_meta("server") or "http://127.0.0.1:8765"
    return page(request, "login.html", status, server=server, error=error)


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    """Log this device in to a server."""
    return _login_page(request)


@router.post("/login")
def login(request: Request, form: Posted) -> Response:
    """Check the password with the server and download the project."""
    server = str(form.get("server", "")).strip().rstrip("/")
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    current = device(request)
    try:
        ca = _trusted_ca(current, server)
        Device.login(current.directory, server, username, password, ca).close()
    except CertificateRejected as failure:
        return _login_page(request, f"{server}: {failure}", 502)
    except Offline:
        return _login_page(request, f"Cannot reach {server}; check the address.", 502)
    except ValidationFailed as failure:
        return _login_page(request, failure.message, 409)
    except DeviceError as failure:
        return _login_page(request, str(failure), 401)
    syncer(request).request()
    return redirect("/", "logged_in")


def _trusted_ca(current: Device, server: str) -> Path | None:
    """The private CA the device trusts for its server (given at a login on the command
    line), kept for a login to that same server; the app has no way to give one."""
    if address.server_url(server) != current.store.get_meta("server"):
        return None
    return current.trusted_ca


@router.get("/settings")
def settings(request: Request) -> HTMLResponse:
    """When the app syncs by itself."""
    return page(request, "settings.html", auto=syncer(request).settings())


def _seconds(form: Posted, name: str, low: int, high: int) -> int:
    text = str(form.get(name, "")).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationFailed("bad_setting", f"{name.replace('_', ' ')}: {low} to {high}")
    return int(text)


@router.post("/settings")
def save_settings(request: Request, form: Posted) -> Response:
    """Store the auto-sync settings on the device."""
    try:
        auto = AutoSync(
            on_start=form.get("on_start") == "on",
            after_change=form.get("after_change") == "on",
            change_delay=_seconds(form, "change_delay", 1, 3600),
            interval=_seconds(form, "interval", 0, 1440),
        )
    except ValidationFailed as failure:
        current = syncer(request).settings()
        return page(request, "settings.html", 422, auto=current, error=failure.message)
    store = device(request).store
    with store.transaction() as conn:
        store.set_meta(conn, SETTINGS_KEY, asdict(auto))
    syncer(request).request_reschedule()
    return redirect("/settings", "settings_saved")
