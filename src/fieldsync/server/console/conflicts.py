"""The conflicts and the journal: filters, side-by-side values, remote resolution, restore."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from fieldsync.conflicts import ConflictState, differing
from fieldsync.errors import ApiError, Superseded
from fieldsync.forms import conflict_choice
from fieldsync.server import admin, journal, projects, users
from fieldsync.server.api.deps import Db
from fieldsync.server.console.render import page, redirect
from fieldsync.server.console.session import Current, Posted, Session
from fieldsync.wire import MAX_OFFSET

router = APIRouter(prefix="/conflicts")
PAGE = 50
OUTCOMES = ["open", "merged", "device_wins", "server_wins", ConflictState.SUPERSEDED.value]
Filter = Annotated[str | None, Query(max_length=64)]


@router.get("")
def conflicts(
    request: Request,
    current: Current,
    db: Db,
    entity: Filter = None,
    policy: Filter = None,
    outcome: Filter = None,
    open_only: bool = False,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> HTMLResponse:
    """Every conflict, newest first, filtered by entity, policy, outcome or open only."""
    filters = {
        "entity": entity or None,
        "policy": policy or None,
        "outcome": outcome or None,
        "status": ConflictState.OPEN.value if open_only else None,
    }
    with db.read() as conn:
        entries = journal.listing(conn, filters, limit=PAGE + 1, offset=offset)
        names = users.usernames(conn)
        project = projects.current(conn)
    return page(
        request,
        "conflicts.html",
        session=current,
        nav="conflicts",
        entries=[e.row for e in entries[:PAGE]],
        names=names,
        entities=[e.name for e in project.entities],
        outcomes=OUTCOMES,
        filters={**filters, "open_only": open_only},
        query=urlencode({k: v for k, v in {**filters, "open_only": open_only}.items() if v}),
        offset=offset,
        more=len(entries) > PAGE,
        page_size=PAGE,
    )


@dataclass(frozen=True)
class Row:
    """One field of a conflict, with each side's value and what differs."""

    name: str
    base: Any
    device: Any
    server: Any
    result: Any
    device_changed: bool
    server_changed: bool
    differs: bool
    in_conflict: bool


def _rows(entry: dict[str, Any], field_order: tuple[str, ...]) -> list[Row]:
    base, device, server = entry["base"], entry["device"], entry["server"]
    result = entry["result"]
    on_device = differing(base, device) if base is not None else frozenset(entry["fields"])
    on_server = differing(base, server) if base is not None else frozenset()
    both = differing(device, server) if device is not None else frozenset()
    seen = set().union(*(v or {} for v in (base, device, server)))
    names = [f for f in field_order if f in seen] + sorted(seen - set(field_order))
    return [
        Row(
            name=f,
            base=(base or {}).get(f),
            device=(device or {}).get(f),
            server=server.get(f),
            result=(result or {}).get(f),
            device_changed=device is not None and f in on_device,
            server_changed=f in on_server,
            differs=f in both,
            in_conflict=f in entry["fields"],
        )
        for f in names
    ]


def _detail_page(
    request: Request,
    current: Session,
    db: Db,
    entry_id: str,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    with db.read() as conn:
        entry = journal.get(conn, entry_id)
        names = users.usernames(conn)
        entity = projects.current(conn).entity(entry.row["entity"])
        superseded = entry.row["status"] == ConflictState.SUPERSEDED
        successor = journal.successor(conn, entry) if superseded else None
    order = entity.field_names if entity else ()
    rows = _rows(entry.row, order)
    lost = None if entry.is_open else journal.losing_values(entry)
    return page(
        request,
        "conflict.html",
        status,
        session=current,
        nav="conflicts",
        entry=entry.row,
        rows=rows,
        names=names,
        lost=lost,
        mergeable=[r.name for r in rows if r.differs],
        successor=successor,
        error=error,
    )


@router.get("/{entry_id}")
def conflict(entry_id: str, request: Request, current: Current, db: Db) -> HTMLResponse:
    """Base, device and server values side by side, with the differing fields highlighted."""
    return _detail_page(request, current, db, entry_id)


@router.post("/{entry_id}/resolve")
def resolve(entry_id: str, request: Request, current: Current, form: Posted, db: Db) -> Response:
    """Settle an open User Action conflict; the device receives the outcome next sync.

    A conflict whose record the server changed since it opened is not settled: the
    page shows the conflict that took its place, with the newest server version."""
    try:
        use, picks = conflict_choice(form)
        with db.write() as conn:
            entry = admin.resolve_conflict(conn, current.admin, entry_id, use, picks)
    except ValueError:
        return _detail_page(request, current, db, entry_id, "Choose device, server or merge.", 422)
    except ApiError as failure:
        return _detail_page(request, current, db, entry_id, failure.message, failure.status)
    if isinstance(entry, Superseded):
        shown = entry.conflict_id or entry_id
        return _detail_page(request, current, db, shown, _met_again(entry), entry.status)
    return redirect(f"/admin/conflicts/{entry_id}", "resolved")


def _met_again(refusal: Superseded) -> str:
    """What the admin is told when their choice came after the server changed the record."""
    told = (
        "Not resolved: the server changed this record after the conflict opened, "
        "so your choice was not written."
    )
    if refusal.conflict_id is None:
        return (
            f"{told} Met again with the newest server version, nothing was left to decide: "
            "the result is what the server wrote."
        )
    return f"{told} Below is the conflict again with the newest server version; choose again."


@router.post("/{entry_id}/restore")
def restore(entry_id: str, request: Request, current: Current, form: Posted, db: Db) -> Response:
    """Write the chosen losing values back as a new server change."""
    fields = [str(v) for v in form.getlist("field")]
    if not fields:
        message = "Tick at least one field to restore."
        return _detail_page(request, current, db, entry_id, message, 422)
    try:
        with db.write() as conn:
            admin.restore(conn, current.admin, entry_id, fields)
    except ApiError as failure:
        return _detail_page(request, current, db, entry_id, failure.message, failure.status)
    return redirect(f"/admin/conflicts/{entry_id}", "restored")
