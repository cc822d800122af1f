"""The CRM records API: back-office reads and writes, with ETag and If-Match."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response

from fieldsync.server import crm, users
from fieldsync.server.api.deps import JSON, Caller, Db, OrjsonRoute
from fieldsync.server.records import StoredRecord
from fieldsync.wire import MAX_OFFSET, AssignIn, RecordList, RecordOut

router = APIRouter(
    prefix="/v1/entities/{entity}/records", tags=["records"], route_class=OrjsonRoute
)
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]
Fields = Annotated[dict[str, Any], Body(description='field values, e.g. {"phone": "…"}')]


def _answer(stored: StoredRecord, status: int = 200) -> JSON:
    return JSON(stored.to_wire(), status_code=status, headers={"ETag": f'"{stored.version}"'})


@router.get("", response_model=RecordList)
def list_records(
    entity: str,
    caller: Caller,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    deleted: bool = False,
) -> dict[str, Any]:
    """The records of an entity in the caller's scope, most recently changed first."""
    with db.read() as conn:
        found = crm.listing(conn, caller, entity, limit=limit + 1, offset=offset, deleted=deleted)
    more = len(found) > limit
    return {
        "records": [r.to_wire() for r in found[:limit]],
        "next_offset": offset + limit if more else None,
    }


@router.post("", response_model=RecordOut, status_code=201)
def create_record(entity: str, values: Fields, caller: Caller, db: Db) -> JSON:
    """Create a record; the body may give its `id` (a UUID)."""
    with db.write() as conn:
        return _answer(crm.create(conn, caller, entity, values), 201)


@router.get("/{record_id}", response_model=RecordOut)
def get_record(entity: str, record_id: str, caller: Caller, db: Db) -> JSON:
    """One record (a deleted one reads with `deleted: true`)."""
    with db.read() as conn:
        return _answer(crm.read(conn, caller, entity, record_id))


@router.patch("/{record_id}", response_model=RecordOut)
def patch_record(
    entity: str, record_id: str, values: Fields, caller: Caller, db: Db, if_match: IfMatch = None
) -> JSON:
    """Change some fields; `If-Match: "<version>"` refuses a stale write with 412."""
    with db.write() as conn:
        return _answer(crm.update(conn, caller, entity, record_id, values, if_match))


@router.delete("/{record_id}", status_code=204)
def delete_record(
    entity: str, record_id: str, caller: Caller, db: Db, if_match: IfMatch = None
) -> Response:
    """Delete a record (a tombstone keeps its last values)."""
    with db.write() as conn:
        crm.delete(conn, caller, entity, record_id, if_match)
    return Response(status_code=204)


@router.post("/{record_id}/assign", response_model=RecordOut)
def assign_record(entity: str, record_id: str, body: AssignIn, caller: Caller, db: Db) -> JSON:
    """Give a record to another user (admins or the owner); it leaves the old owner's scope."""
    with db.write() as conn:
        owner_id = users.find(conn, body.owner)
        return _answer(crm.assign(conn, caller, entity, record_id, owner_id))
