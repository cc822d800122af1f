"""Push phase: send pending changes in batches, exactly once, and apply the results.

A batch is written to the outbox before it is sent; if the process dies before the
results are stored, the next sync resends the same batch (same batch_id), and the
server answers with the results it stored the first time.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeGuard

import orjson

from fieldsync import failpoints
from fieldsync.clock import now
from fieldsync.conflicts import Choice, Kind, Op, Status, differing, merge_fields
from fieldsync.device import parents
from fieldsync.device.client import Client
from fieldsync.device.rebase import Key, Rebase, rebase
from fieldsync.device.report import Progress, SyncReport
from fieldsync.device.store import CREATED, DELETED, Store, dumps, loads
from fieldsync.errors import Offline, ServerRefused, TooLarge
from fieldsync.project import FieldType, Project
from fieldsync.wire import Change, ChangeResult, ErrorBody, PushOut

# A whole batch refused for what it is (malformed, a batch id taken): nothing was
# applied, and sending it again would be refused again. A batch too large (413) is
# sent again in halves instead.
REFUSED_BATCH = frozenset({400, 409, 422})
BATCH_SIZE = 1000
BATCH_BYTES = 4 * 1024 * 1024  # well under the server's 10 MB body limit


# A change that met an open User Action conflict: its record, what was sent, the result.
Opened = tuple[Key, dict[str, Any], ChangeResult]
# A row of `PENDING` (or `REFUSED`), by column name.
Pending = dict[str, Any]


class OutgoingBatch(NamedTuple):
    """A batch as stored in the outbox: its body, and what the device sent of each record."""

    id: str
    body: bytes
    snapshots: list[dict[str, Any]]


CHANGES = """
SELECT r.*, c.choice, c.picks, c.server AS conflict_server, c.server_version AS conflict_version
FROM records r LEFT JOIN conflicts c ON c.id = r.conflict_id
WHERE r.state != 'synced' AND r.error IS {} NULL AND r.seq <= ?
  AND (r.conflict_id IS NULL OR c.choice IS NOT NULL)
ORDER BY r.seq
"""
PENDING = CHANGES.format("")
REFUSED = CHANGES.format("NOT")  # Sync errors' rejected changes


def push(
    store: Store,
    client: Client,
    report: SyncReport,
    progress: Progress,
    answered: Callable[[], object],
) -> None:
    """Push every change made before this sync started, a batch at a time.

    Batches are pipelined: while the server applies one, the device prepares the
    next and stores the results of the one before, so the device and the server
    work at the same time. The server still gets them one after another, in order.
    `answered` is called once the server has answered the last batch (or at once,
    with nothing to push), before its results are stored.
    """
    upto = int(store.get_meta("seq", 0))
    queue: list[Pending] | None = None  # read once the outbox is empty
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push") as sender:
        sent: _SentBatch | None = None
        while True:
            batch = _outbox(store, sent)
            if batch is None:
                queue = _queue(store, upto, sent) if queue is None else queue
                batch = _next_batch(store, queue)
            if sent:
                sent.wait()  # raises Offline: nothing lost, the outbox keeps both batches
                if sent.too_large:
                    _split(store, sent, report)
                    sent = None  # its halves are now the oldest batches of the outbox
                    continue
            following = _SentBatch(sender, client, batch) if batch else None
            if following is None:
                answered()
            if sent:
                _settle(store, sent, report)
                progress("push", report.pushed)
            if following is None:
                return
            sent = following


def _send(client: Client, body: bytes) -> Any:
    """POST a batch; the records the server stores as sent come back as null."""
    return client.call("POST", "/v1/sync/push", body, echo="changed")


class _SentBatch:
    """A batch sent to the server (by a thread of its own), then its answer."""

    def __init__(self, sender: ThreadPoolExecutor, client: Client, batch: OutgoingBatch) -> None:
        self.batch = batch
        self.coming = sender.submit(_send, client, batch.body)
        self.answer: list[ChangeResult] | ServerRefused = []
        self.too_large = False

    def wait(self) -> None:
        """Wait for the results, for the refusal of the whole batch (a 4xx that would
        come again), or for a 413 (`too_large`: the server or a proxy took none of it).

        Raises Offline for any answer that is not a fieldsync server's results.
        """
        try:
            self.answer = _results(self.coming.result(), len(self.batch.snapshots))
        except TooLarge:
            self.too_large = True
            return
        except ServerRefused as refusal:
            if refusal.status not in REFUSED_BATCH:
                raise
            self.answer = refusal
            return
        failpoints.hit("device.push.answered")

    @property
    def keys(self) -> set[tuple[str, str]]:
        """The records the batch carries."""
        return {(s["entity"], s["id"]) for s in self.batch.snapshots}


def _results(answer: Any, sent: int) -> list[ChangeResult]:
    """The results of a push answer, one per change sent; Offline if it holds no such thing
    (only a fieldsync server's results may settle a change)."""
    if not _is_push_answer(answer, sent):
        raise Offline("the answer to a push is not a fieldsync server's results")
    return answer["results"]


def _is_push_answer(answer: Any, sent: int) -> TypeGuard[PushOut]:
    results = answer.get("results") if isinstance(answer, dict) else None
    return isinstance(results, list) and len(results) == sent and all(map(_is_result, results))


def _is_result(result: Any) -> bool:
    return isinstance(result, dict) and result.get("status") in _STATUSES


_STATUSES = frozenset(status.value for status in Status)


def _split(store: Store, sent: _SentBatch, report: SyncReport) -> None:
    """Put the two halves of a batch refused as too large in its place in the outbox,
    each under a batch id of its own (written before either is sent, so a crash resends
    the same ids); a single change too large is kept as a rejected change."""
    batch = sent.batch
    if len(batch.snapshots) == 1:
        error = ErrorBody(code="too_large", message=TOO_LARGE)
        _hold(store, batch.id, batch.snapshots, error, report)
        return
    halves = _halves(store, batch)
    with store.transaction() as conn:
        rows = conn.execute("SELECT * FROM outbox ORDER BY created_at, rowid").fetchall()
        conn.execute("DELETE FROM outbox")
        for row in rows:  # written again in order: the halves take the batch's place
            same = [(row["batch_id"], row["body"], row["snapshots"])]
            parts = halves if row["batch_id"] == batch.id else same
            conn.executemany(
                "INSERT INTO outbox (batch_id, body, snapshots, created_at) VALUES (?, ?, ?, ?)",
                [(*part, row["created_at"]) for part in parts],
            )


TOO_LARGE = (
    "this change is too large for the server or a proxy on the way (413): "
    "shorten its values, then retry, or discard it"
)


def _halves(store: Store, batch: OutgoingBatch) -> list[tuple[str, str, str | None]]:
    """A batch's changes as two outbox rows (batch id, body, snapshots), each change under
    a change id of its new batch."""
    changes = orjson.loads(batch.body)["changes"]
    stored = [{k: v for k, v in s.items() if k != "data"} for s in batch.snapshots]
    middle = len(changes) // 2
    device_id = store.get_meta("device_id")
    rows = []
    for part in (slice(None, middle), slice(middle, None)):
        batch_id = str(uuid.uuid4())
        renamed = [{**c, "change_id": f"{batch_id}.{n}"} for n, c in enumerate(changes[part])]
        body = orjson.dumps({"device_id": device_id, "batch_id": batch_id, "changes": renamed})
        rows.append((batch_id, body.decode(), dumps(stored[part])))
    return rows


def _settle(store: Store, sent: _SentBatch, report: SyncReport) -> None:
    """Store an answered batch's results, and take it out of the outbox."""
    batch, answer = sent.batch, sent.answer
    if isinstance(answer, ServerRefused):
        error = ErrorBody(code=answer.code, message=f"the server refused the batch: {answer}")
        _hold(store, batch.id, batch.snapshots, error, report)
        return
    with store.transaction() as conn:
        _apply_results(conn, batch.snapshots, answer, report)
        conn.execute("DELETE FROM outbox WHERE batch_id = ?", (batch.id,))


def _hold(
    store: Store,
    batch_id: str,
    snapshots: list[dict[str, Any]],
    error: ErrorBody,
    report: SyncReport,
) -> None:
    """A batch refused as a whole changed nothing on the server: keep its changes as
    rejected (Sync errors: retry or discard) instead of resending it at every sync."""
    with store.transaction() as conn:
        for snapshot in snapshots:
            _reject(conn, (snapshot["entity"], snapshot["id"]), snapshot, error)
            report.count(Status.REJECTED)
        conn.execute("DELETE FROM outbox WHERE batch_id = ?", (batch_id,))


def _outbox(store: Store, sent: _SentBatch | None) -> OutgoingBatch | None:
    """The oldest batch a sync stored but did not see answered, unless it is on its way."""
    on_its_way = sent.batch.id if sent else ""
    row = store.conn.execute(
        "SELECT * FROM outbox WHERE batch_id != ? ORDER BY created_at, rowid LIMIT 1",
        (on_its_way,),
    ).fetchone()
    if row is None:
        return None
    body, snapshots = row["body"].encode(), loads(row["snapshots"])
    # What the device sent of each record is in the body: the outbox keeps it once.
    for snapshot, change in zip(snapshots, orjson.loads(body)["changes"], strict=True):
        # D: for a merge, the record the user merged (`merged_from`), not the merged one.
        snapshot["data"] = change.get("merged_from", change["record"])
    return OutgoingBatch(row["batch_id"], body, snapshots)


def _queue(store: Store, upto: int, sent: _SentBatch | None) -> list[Pending]:
    """The changes to push, parents first, but those on their way: read once per push.

    A record edited again while the push runs is sent as it was read; its result
    then keeps the newer edit pending (see `rebase`), as when the edit comes while
    its batch is on the way.
    """
    busy = sent.keys if sent else set()
    rows = [r for r in _pending(store, upto) if (r["entity"], r["id"]) not in busy]
    project = store.project()
    refused = [r for r in _pending(store, upto, REFUSED) if (r["entity"], r["id"]) not in busy]
    if refused:  # children refused for their parent go again with it
        sending = busy | {(r["entity"], r["id"]) for r in rows}
        with store.transaction() as conn:
            rows += parents.released(conn, project, refused, sending)
    ranks = _parent_ranks(project)
    rows.sort(key=lambda r: (ranks.get(r["entity"], 0), r["seq"]))
    return rows


def _pending(store: Store, upto: int, query: str = PENDING) -> list[Pending]:
    """The rows of `query` (the pending changes, or `REFUSED`) as dicts: each is read by
    column name many times, which a `sqlite3.Row` does by comparing the name with
    each column's, and a dict by hashing it once."""
    cursor = store.conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(query, (upto,)).fetchall()
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _next_batch(store: Store, queue: list[Pending]) -> OutgoingBatch | None:
    """The next batch from the front of `queue` (taken off it), written to the outbox.

    Each change is encoded once: its size counts towards the batch limit, and the
    body is built from the encoded changes.
    """
    batch_id = str(uuid.uuid4())
    changes: list[orjson.Fragment] = []
    stored: list[dict[str, Any]] = []  # the snapshots as the outbox keeps them (D is in the body)
    snapshots: list[dict[str, Any]] = []
    size = 0
    for n, row in enumerate(queue[:BATCH_SIZE]):
        change, data = _change(row, f"{batch_id}.{n}")
        encoded = orjson.dumps(change)
        size += len(encoded)
        if changes and size > BATCH_BYTES:
            break
        changes.append(orjson.Fragment(encoded))
        stored.append(_snapshot(row))
        snapshots.append({**stored[-1], "data": data})
    if not changes:
        return None
    del queue[: len(changes)]
    device_id = store.get_meta("device_id")
    body = orjson.dumps({"device_id": device_id, "batch_id": batch_id, "changes": changes})
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO outbox (batch_id, body, snapshots, created_at) VALUES (?, ?, ?, ?)",
            (batch_id, body.decode(), dumps(stored), now()),
        )
    return OutgoingBatch(batch_id, body, snapshots)


def _snapshot(row: Pending) -> dict[str, Any]:
    """What the device needs to know of a sent change when its result comes back, but
    its values (`data`), which the body carries."""
    return {
        "entity": row["entity"],
        "id": row["id"],
        "rev": row["rev"],
        "conflict_id": row["conflict_id"],
    }


def _parent_ranks(project: Project) -> dict[str, int]:
    """Entities looked up by others come first, so parents are pushed before children."""
    targets = {
        e.name: {f.target for f in e.fields if f.type is FieldType.LOOKUP and f.target != e.name}
        for e in project.entities
    }
    ranks: dict[str, int] = {}

    def rank(name: str, path: frozenset[str]) -> int:
        if name not in ranks:
            parents = [t for t in targets.get(name, ()) if t and t not in path]
            ranks[name] = 1 + max((rank(p, path | {name}) for p in parents), default=-1)
        return ranks[name]

    for name in targets:
        rank(name, frozenset())
    return ranks


def _change(row: Pending, change_id: str) -> tuple[Change, Any]:
    """A pending row's change as sent, and D (its values) decoded.

    The stored JSON of base and D goes into the body as it is, not encoded again.
    """
    base, data = loads(row["base"]), loads(row["data"])
    record = _stored_json(row["data"])
    change = Change(
        change_id=change_id,  # the batch id and a position: unique everywhere
        entity=row["entity"],
        id=row["id"],
        op=Op.UPDATE,
        base_version=row["base_version"],
        fields={},
        record=record,
        base=_stored_json(row["base"]),
    )
    if row["state"] == CREATED:
        change["op"], change["fields"], change["base"] = Op.CREATE, record or {}, None
    elif row["state"] == DELETED:
        change["op"] = Op.DELETE
    else:
        # A field D lacks is not the device's change: the project dropped it since base.
        change["fields"] = {f: data[f] for f in differing(base, data) if f in data}
    if row["choice"] is not None:
        change["resolves"] = row["conflict_id"]
        change["resolution"] = Choice(row["choice"])
        change["base_version"] = row["conflict_version"]
    if row["picks"] is not None and data is not None:
        _merge(change, base, data, loads(row["conflict_server"]), loads(row["picks"]))
    return change, data


def _merge(change: Change, base: Any, data: Any, server: Any, picks: dict[str, str]) -> None:
    """Make the merge the user chose of D as it is now; D goes along for the journal.

    A field the user did not pick comes from the side that changed it since base.
    """
    merged = merge_fields(data, server, {f: Choice(side) for f, side in picks.items()}, base or {})
    change["merged_from"] = change["record"]
    change["fields"] = {f: merged.get(f) for f in differing(base, merged)}
    change["record"] = merged


def _stored_json(text: str | None) -> orjson.Fragment | None:
    return None if text is None else orjson.Fragment(text)


def _apply_results(
    conn: sqlite3.Connection,
    snapshots: list[dict[str, Any]],
    results: list[ChangeResult],
    report: SyncReport,
) -> None:
    """Store a batch's results: rejections one by one, open conflicts and the rest in bulk."""
    settled: list[Rebase] = []
    opened: list[Opened] = []
    for snapshot, result in zip(snapshots, results, strict=True):
        report.count(result["status"])
        key = (snapshot["entity"], snapshot["id"])
        if result["status"] == Status.REJECTED:
            _reject(conn, key, snapshot, result["error"])
        elif result["status"] == Status.CONFLICT:
            opened.append((key, snapshot, result))
        else:
            record = result["record"]
            if record is None and not result["deleted"]:  # stored as sent (echo=changed)
                record = snapshot["data"]
            server = (result["version"], record, result["deleted"])
            settled.append((key, (snapshot["rev"], snapshot["data"]), server))
    _open_conflicts(conn, opened)
    rebase(conn, settled)
    decided = [(s["conflict_id"],) for s, r in zip(snapshots, results, strict=True) if _ends(s, r)]
    conn.executemany("DELETE FROM conflicts WHERE id = ?", decided)


def _ends(snapshot: dict[str, Any], result: ChangeResult) -> bool:
    """True when the change settled a conflict the user had decided."""
    return bool(snapshot["conflict_id"]) and result["status"] not in _UNSETTLED


_UNSETTLED = frozenset({Status.REJECTED, Status.CONFLICT})


def _reject(
    conn: sqlite3.Connection,
    key: tuple[str, str],
    snapshot: dict[str, Any],
    error: ErrorBody | None,
) -> None:
    """Keep the change for "fix and retry" or "discard"; an edit made meanwhile is retried."""
    conn.execute(
        "UPDATE records SET error = ? WHERE entity = ? AND id = ? AND rev = ?",
        (dumps(error), *key, snapshot["rev"]),
    )
    if snapshot["conflict_id"]:
        conn.execute(
            "UPDATE conflicts SET choice = NULL, picks = NULL WHERE id = ?",
            (snapshot["conflict_id"],),
        )


def _open_conflicts(conn: sqlite3.Connection, opened: list[Opened]) -> None:
    """Record open User Action conflicts: the device keeps D until the user decides."""
    at = now()
    replaced, conflicts, records = [], [], []
    for key, snapshot, result in opened:
        server = dumps(result["record"])
        if snapshot["conflict_id"]:
            replaced.append((snapshot["conflict_id"],))
        conflicts.append(
            (
                result["conflict_id"],
                *key,
                _kind(snapshot, result).value,
                dumps(snapshot["data"]),
                server,
                result["deleted"],
                result["version"],
                snapshot["rev"],
                at,
            )
        )
        records.append((result["conflict_id"], result["version"], server, result["deleted"], *key))
    conn.executemany("DELETE FROM conflicts WHERE id = ?", replaced)
    conn.executemany(
        "INSERT OR REPLACE INTO conflicts (id, entity, record_id, kind, device, server, "
        "server_deleted, server_version, rev, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        conflicts,
    )
    conn.executemany(
        "UPDATE records SET conflict_id = ?, server_version = ?, server_data = ?, "
        "server_deleted = ? WHERE entity = ? AND id = ?",
        records,
    )


def _kind(snapshot: dict[str, Any], result: ChangeResult) -> Kind:
    """What met what: the device's change and the server's state."""
    if snapshot["data"] is None:
        return Kind.DELETE_UPDATE
    return Kind.UPDATE_DELETE if result["deleted"] else Kind.UPDATE_UPDATE
