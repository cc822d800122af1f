"""The device side of the wire: project, push, pull, and the status of a device's conflicts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator

from fieldsync.clock import now
from fieldsync.conflicts import ConflictState
from fieldsync.errors import Unprocessable
from fieldsync.server import (
    activity,
    cursors,
    first_screen,
    journal,
    projects,
    pull,
    push,
    records,
    users,
)
from fieldsync.server.api.deps import JSON, Caller, Db, OrjsonRoute, settings_of
from fieldsync.server.db import Database
from fieldsync.server.schema import devices
from fieldsync.server.users import Principal
from fieldsync.wire import (
    MAX_PULL,
    MAX_PULL_BYTES,
    ConflictStatus,
    ConflictStatusIn,
    ConflictStatusOut,
    DeviceId,
    PullOut,
    PushIn,
    PushOut,
    ResolvedRecord,
)

router = APIRouter(prefix="/v1", tags=["sync"], route_class=OrjsonRoute)
CURSOR_HEADER, MORE_HEADER = "Fieldsync-Cursor", "Fieldsync-More"


def _plain_day(value: object) -> object:
    """`YYYY-MM-DD` only: a date and time is no day of the device's calendar."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_plain_day)]


@router.get("/project")
def get_project(_caller: Caller, db: Db) -> dict[str, Any]:
    """The current project: entities, fields and each entity's On Conflict policy."""
    with db.read() as conn:
        return projects.current(conn).to_dict()


@router.post("/sync/push", response_model=PushOut)
def sync_push(
    body: PushIn,
    caller: Caller,
    db: Db,
    request: Request,
    echo: Annotated[
        Literal["all", "changed"],
        Query(
            description="`changed`: a result whose record the server stored as the change "
            "sent it (`record`, no merge) carries `record: null`: the device has it"
        ),
    ] = "all",
) -> Response:
    """Apply a batch of device changes in one transaction, exactly once per batch_id."""
    # The JSON the ledger keeps, sent as it is (a batch seen before: as it was answered).
    limit = settings_of(request).devices_per_user
    results = push.push(db, caller, body, omit_as_sent=echo == "changed", devices_per_user=limit)
    return Response(b'{"results":' + results + b"}", media_type="application/json")


@router.get("/sync/pull", response_model=PullOut)
def sync_pull(
    caller: Caller,
    db: Db,
    request: Request,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PULL)] = 1000,
    max_bytes: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_PULL_BYTES,
            description="the page's JSON stops before this many bytes (past its first change)",
        ),
    ] = pull.DEFAULT_PAGE_BYTES,
    device_id: DeviceId | None = None,
    skip_own: Annotated[
        bool, Query(description="leave out records `device_id` wrote last (it has them)")
    ] = False,
    count: Annotated[
        bool,
        Query(
            description="with no cursor: the answer says how many changes the whole "
            "download brings (`total`, and `totals` per entity)"
        ),
    ] = False,
    first: Annotated[
        bool,
        Query(
            description="with no cursor: the first screen, the user's own records and those "
            "dated `today` or later (an entity's `upcoming_field`), before the ordinary "
            "download from the empty cursor"
        ),
    ] = False,
    today: Annotated[
        Day | None,
        Query(description="with `first`: the device's date, `YYYY-MM-DD` (default: UTC's)"),
    ] = None,
) -> JSON:
    """The latest state of each visible record changed after `cursor`, in commit order."""
    skip = device_id if skip_own else None
    devices_per_user = settings_of(request).devices_per_user
    if first or today is not None:
        _check_first_screen(first, cursor, count)
        budget = pull.Budget(limit, max_bytes)
        return _first_screen(db, caller, device_id, devices_per_user, today, budget, skip)
    with db.snapshot() as (conn, watermark):
        _check_device(conn, caller, device_id, devices_per_user)
        epoch = cursors.epoch(conn)
        project = projects.current(conn)
        position = cursors.parse(cursor, epoch)
        page = pull.pull(conn, caller, project, position, watermark, limit, skip, max_bytes)
        totals = pull.totals(conn, caller, project, skip) if count and not cursor else None
    if device_id is not None and not page.more:  # one write per sync, not per page
        _note_pull(db, caller, device_id, devices_per_user)
    after = cursors.format_cursor(epoch, page.cursor)
    body: PullOut = {
        "changes": page.changes,
        "cursor": after,
        "more": page.more,
        "project_version": project.version,
    }
    if totals is not None:  # an extension of v1: devices that do not ask never see it
        body["total"], body["totals"] = sum(totals.values()), totals
    # The same cursor ahead of the body: a device may ask for the next page while this
    # one is still on its way.
    return JSON(body, headers={CURSOR_HEADER: after, MORE_HEADER: str(page.more).lower()})


def _check_device(
    conn: sa.Connection, caller: Principal, device_id: str | None, devices_per_user: int
) -> None:
    """403 for another user's device; 409 for a new one past the user's limit."""
    if device_id is not None and not users.check_device(conn, caller, device_id):
        users.check_room_for_device(conn, caller, devices_per_user)  # registered at the end


def _check_first_screen(first: bool, cursor: str | None, count: bool) -> None:
    if not first:
        raise Unprocessable("today goes with first=true", code="invalid_params")
    if cursor:
        raise Unprocessable(
            "first=true is for a device with no cursor yet: it has nothing to do with one",
            code="invalid_params",
        )
    if count:
        raise Unprocessable(
            "first=true brings no totals: ask count=true on the ordinary pull",
            code="invalid_params",
        )


def _first_screen(
    db: Database,
    caller: Principal,
    device_id: str | None,
    devices_per_user: int,
    today: date | None,
    budget: pull.Budget,
    skip: str | None,
) -> JSON:
    """The first screen: a page whose cursor is the empty one (the ordinary download
    follows, from the start), in the same scope as that download."""
    with db.read() as conn:
        _check_device(conn, caller, device_id, devices_per_user)
        project = projects.current(conn)
        day = today or datetime.now(UTC).date()
        changes = first_screen.first_screen(conn, caller, project, day, budget, skip)
    body: PullOut = {
        "changes": changes,
        "cursor": "",
        "more": True,
        "project_version": project.version,
    }
    return JSON(body, headers={CURSOR_HEADER: "", MORE_HEADER: "true"})


def _note_pull(db: Database, caller: Principal, device_id: str, limit: int) -> None:
    with db.write_beside() as conn:  # beside pushes: it touches no record
        users.claim_device(conn, caller, device_id, limit)
        conn.execute(sa.update(devices).where(devices.c.id == device_id).values(last_pull_at=now()))
        activity.note_sync(conn, device_id, caller.user_id)


@router.post("/sync/conflicts", response_model=ConflictStatusOut)
def conflict_status(body: ConflictStatusIn, caller: Caller, db: Db) -> JSON:
    """Where the given conflicts of this device stand (a console may have resolved them)."""
    with db.read() as conn:
        users.check_device(conn, caller, body.device_id)
        entries = journal.states(conn, body.device_id, body.ids)
        owned = [e for e in entries if e.user_id == caller.user_id]
        found = records.get_many(conn, [_record_key(e) for e in owned])
        project = projects.current(conn)
        superseded = [_record_key(e) for e in owned if e.status == ConflictState.SUPERSEDED]
        successors = journal.open_ones(conn, body.device_id, superseded)
        outcomes = _where_they_ended(conn, owned, successors)
    # A record that left the caller's scope reads as deleted, as a pull sends it.
    current = {
        key: stored
        for key, stored in found.items()
        if records.may_sync(caller, project.entity(stored.entity), stored)
    }
    statuses = [
        _status(outcomes.get(e.id, e), e, current.get(_record_key(e)), successors) for e in owned
    ]
    return JSON({"conflicts": statuses})


def _where_they_ended(
    conn: sa.Connection, owned: list[journal.EntryState], successors: dict[tuple[str, str], str]
) -> dict[str, journal.EntryState]:
    """For each superseded entry with no result of its own and nothing open in its
    place, the resolved entry its successors ended in, by the superseded entry's id: the
    device's edits made meanwhile are based on what that resolution wrote."""
    ended: dict[str, journal.EntryState] = {}
    for entry in owned:
        if (
            entry.status == ConflictState.SUPERSEDED
            and entry.result_version is None
            and _record_key(entry) not in successors
        ):
            last = journal.ended_in(conn, entry)
            if last is not None and last.status == ConflictState.RESOLVED:
                ended[entry.id] = last
    return ended


def _record_key(entry: journal.EntryState) -> tuple[str, str]:
    return entry.entity, entry.record_id


def _status(
    outcome: journal.EntryState,
    entry: journal.EntryState,
    current: records.StoredRecord | None,
    successors: dict[tuple[str, str], str],
) -> ConflictStatus:
    """Where `entry` stands; `outcome` is the entry whose result settled it (itself, or
    the resolved successor of a superseded one)."""
    superseded = entry.status == ConflictState.SUPERSEDED
    return {
        "id": entry.id,
        "status": ConflictState(entry.status),
        "outcome": entry.outcome,
        "entity": entry.entity,
        "record_id": entry.record_id,
        "version": current.version if current else None,
        "deleted": current.deleted if current else True,
        "record": None if current is None else current.data,
        "result": None if current is None else _result(outcome),
        "superseded_by": successors.get(_record_key(entry)) if superseded else None,
    }


def _result(entry: journal.EntryState) -> ResolvedRecord | None:
    """The record as a resolution left it (for a superseded conflict settled at once,
    as meeting D again left it), when the journal knows its version."""
    if entry.result_version is None:
        return None
    values = entry.result
    return {"version": entry.result_version, "deleted": values is None, "record": values}
