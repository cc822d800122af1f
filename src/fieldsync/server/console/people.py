"""Users and devices: add users, reset passwords, disable; sign a device out, remove it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from fieldsync.conflicts import ConflictState
from fieldsync.errors import ApiError, Unprocessable
from fieldsync.server import activity, admin, journal, ledger, users
from fieldsync.server.api.deps import Db
from fieldsync.server.console.render import page, redirect
from fieldsync.server.console.session import Current, Posted, Session
from fieldsync.wire import MAX_OFFSET

router = APIRouter()
PAGE = 50  # devices per page


def _users_page(
    request: Request, current: Session, db: Db, error: str | None = None, status: int = 200
) -> HTMLResponse:
    with db.read() as conn:
        people = users.list_users(conn)
        counts = admin.device_counts(conn)
    return page(
        request,
        "users.html",
        status,
        session=current,
        nav="users",
        people=people,
        device_counts=counts,
        error=error,
    )


@router.get("/users")
def user_list(request: Request, current: Current, db: Db) -> HTMLResponse:
    """Every user with role, state and devices, and a form to add one."""
    return _users_page(request, current, db)


@router.post("/users")
def add_user(request: Request, current: Current, form: Posted, db: Db) -> Response:
    """Add a user (or an admin)."""
    try:
        with db.write() as conn:
            users.enroll(
                conn,
                str(form.get("username", "")).strip(),
                str(form.get("password", "")),
                admin=form.get("role") == "admin",
            )
    except ApiError as failure:
        return _users_page(request, current, db, failure.message, failure.status)
    return redirect("/admin/users", "user_added")


@router.post("/users/{user_id}/password")
def set_password(
    user_id: str, request: Request, current: Current, form: Posted, db: Db
) -> Response:
    """Give a user a new password; every device and session of theirs must log in again."""
    try:
        with db.write() as conn:
            users.set_password(conn, user_id, str(form.get("password", "")))
    except ApiError as failure:
        return _users_page(request, current, db, failure.message, failure.status)
    return redirect("/admin/users", "password_set")


@router.post("/users/{user_id}/disabled")
def set_disabled(
    user_id: str, request: Request, current: Current, form: Posted, db: Db
) -> Response:
    """Disable a user (their tokens are revoked) or enable them again."""
    disable = form.get("disabled") == "true"
    try:
        if disable and user_id == current.admin.user_id:
            raise Unprocessable("you cannot disable yourself", code="self_disable")
        with db.write() as conn:
            users.set_disabled(conn, user_id, disable)
    except ApiError as failure:
        return _users_page(request, current, db, failure.message, failure.status)
    return redirect("/admin/users", "user_disabled" if disable else "user_enabled")


@router.get("/devices")
def device_list(
    request: Request,
    current: Current,
    db: Db,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> HTMLResponse:
    """The devices, oldest first, a page at a time, with user, last syncs and open conflicts."""
    with db.read() as conn:
        fleet = admin.list_devices(conn, limit=PAGE + 1, offset=offset)
        names = users.usernames(conn)
    return page(
        request,
        "devices.html",
        session=current,
        nav="devices",
        fleet=fleet[:PAGE],
        names=names,
        offset=offset,
        more=len(fleet) > PAGE,
        page_size=PAGE,
    )


@router.get("/devices/{device_id}")
def device(device_id: str, request: Request, current: Current, db: Db) -> HTMLResponse:
    """One device: last sync, its open conflicts and its latest rejected changes."""
    with db.read() as conn:
        found = activity.device(conn, device_id)
        filters = {"device_id": device_id, "status": ConflictState.OPEN.value}
        pending = journal.listing(conn, filters, limit=200)
        rejected = ledger.rejected_changes(conn, device_id)
        names = users.usernames(conn)
    return page(
        request,
        "device.html",
        session=current,
        nav="devices",
        device=found,
        pending=[e.row for e in pending],
        rejected=rejected,
        names=names,
    )


@router.post("/devices/{device_id}/revoke")
def revoke(device_id: str, current: Current, form: Posted, db: Db) -> Response:
    """Sign the device out: every token it holds is revoked."""
    with db.write() as conn:
        users.revoke_device(conn, device_id)
    return redirect(f"/admin/devices/{device_id}", "device_revoked")


@router.post("/devices/{device_id}/remove")
def remove(device_id: str, current: Current, form: Posted, db: Db) -> Response:
    """Forget the device: signed out, and its user may register another in its place."""
    with db.write() as conn:
        users.remove_device(conn, device_id)
    return redirect("/admin/devices", "device_removed")
