// The push phase: send every pending change in batches, exactly once, and apply the
// results (as the Python device's push.py does).
//
// A batch is built and written to the outbox in one IndexedDB transaction (the rows'
// revs with it), before it is sent; a tab killed before the results are stored resends
// the same batch id at the next sync, and the server answers with the results it stored
// the first time. Only a JSON answer of this contract settles or refuses a change: an
// HTML page, a cut body or a count of results that does not match leaves it pending.

import {
  batchBody,
  batchLength,
  changeOf,
  inPushOrder,
  parentRanks,
} from "./changes.js";
import { parentOf, settledHere } from "./parents.js";
import { emptyPlan, plan, refuse, resultsOf } from "./results.js";
import { settleResolved } from "./rebase.js";
import { kindOf, serverBeside } from "./results.js";
import { request } from "./store.js";
import { Refusal, WireError, parseJSON, stringifyJSON } from "./wire.js";

export { layOver } from "./rebase.js";

/**
 * @typedef {import("./store.js").Store} Store
 * @typedef {import("./store.js").Row} Row
 * @typedef {import("./changes.js").Change} Change
 * @typedef {import("./results.js").Snapshot & {conflict_id: string|null}} Snapshot
 * @typedef {{batch_id: string, body: string, snapshots: Snapshot[], created_at: string,
 *   order: number}} Batch
 * @typedef {{pushed: number, conflicts: number, refused: number, notices: number,
 *   statuses: Record<string, number>}} PushCounts
 * @typedef {{results: import("./results.js").Result[]} | {tooLarge: true} |
 *   {refused: {status: number, code: string, message: string}}} Answer
 * @typedef {import("./wire.js").Wire} Wire
 * @typedef {import("./rebase.js").ServerState} ServerState
 * @typedef {ServerState & {id: string, status: string, result?: ServerState|null,
 *   superseded_by?: string|null}} ConflictStatus where a conflict stands: its record on
 *   the server now, and as a resolution left it (`result`)
 */

/** The stores a push reads and writes. */
const STORES = ["meta", "records", "conflicts", "outbox", "notices", "log"];

export const TOO_LARGE =
  "This change is too large for the server or a proxy on the way (413): shorten its " +
  "values, then retry, or discard it.";

/**
 * Push every change made before this push started: first what the outbox holds (a
 * batch a closed tab sent but never saw answered), then the pending rows, parents
 * first, a batch at a time. Transport failures throw, leaving the outbox as it is.
 *
 * Batches are pipelined: while the server applies one, the phone builds the next and
 * stores the results of the one before. The server still gets them one after another,
 * in order: a batch is sent once the answer to the one before it has arrived.
 * @param {Store} store
 * @param {Wire} wire
 * @returns {Promise<PushCounts>}
 */
export async function pushOutbox(store, wire) {
  // Two tabs of one user must not send the same rows in two batches: one pushes at a time.
  const locks = globalThis.navigator?.locks;
  if (!locks) return pushAll(store, wire);
  return locks.request(`fieldsync-push-${store.username}`, () => pushAll(store, wire));
}

/**
 * @param {Store} store
 * @param {Wire} wire
 * @returns {Promise<PushCounts>}
 */
async function pushAll(store, wire) {
  const upto = Number((await store.getMeta("seq")) ?? 0);
  /** @type {Set<string>} */
  const sent = new Set(); // records sent once in this push: an edit since waits for the next
  const counts = { pushed: 0, conflicts: 0, refused: 0, notices: 0, statuses: {} };
  /** @type {Flight|null} */
  let flight = null;
  for (;;) {
    /** @type {string} */
    const onItsWay = flight?.batch.batch_id ?? "";
    /** @type {Batch|null} */
    const batch = (await oldestBatch(store, onItsWay)) ?? (await nextBatch(store, upto, sent));
    for (const s of batch?.snapshots ?? []) sent.add(`${s.entity}:${s.id}`);
    const answer = flight ? await answered(flight) : null;
    if (flight && answer && "tooLarge" in answer) {
      await split(store, flight.batch, counts); // its halves are now the oldest batches
      flight = null;
      continue;
    }
    /** @type {Flight|null} */
    const following = batch ? fly(wire, batch) : null;
    if (flight && answer) await settleAnswer(store, flight.batch, answer, counts);
    if (following === null) return counts;
    flight = following;
  }
}

/**
 * @typedef {{batch: Batch, coming: Promise<{answer: Answer} | {failure: unknown}>}} Flight
 *   a batch on its way, and its answer (or why none came) once it arrives
 */

/**
 * Send a batch; its answer is awaited later (`answered`).
 * @param {Wire} wire
 * @param {Batch} batch
 * @returns {Flight}
 */
function fly(wire, batch) {
  const coming = send(wire, batch.body).then(
    (answer) => ({ answer }),
    (failure) => ({ failure }),
  );
  return { batch, coming };
}

/**
 * The answer to a batch on its way; throws why none came (the outbox keeps the batch).
 * @param {Flight} flight
 * @returns {Promise<Answer>}
 */
async function answered(flight) {
  const arrived = await flight.coming;
  if ("failure" in arrived) throw arrived.failure;
  return arrived.answer;
}

/**
 * Store the answer to a batch: its results, or the refusal of all of it.
 * @param {Store} store
 * @param {Batch} batch
 * @param {Answer} answer
 * @param {PushCounts} counts
 */
async function settleAnswer(store, batch, answer, counts) {
  if ("refused" in answer) await hold(store, batch, refusalOf(answer.refused), counts);
  else await settleBatch(store, batch, answer, counts);
}

/**
 * Send a batch: its results, a 413 (`tooLarge`: the server or a proxy took none of it),
 * or the refusal of the whole batch (a 4xx that would come again). Anything else throws:
 * a transport failure (an HTML page, a cut body) or a refusal the engine handles (401).
 * @param {Wire} wire
 * @param {string} body
 * @returns {Promise<Answer>}
 */
async function send(wire, body) {
  try {
    return await wire.push(body, { echo: "changed" });
  } catch (error) {
    if (error instanceof WireError && "status" in error && error.status === 413) {
      return { tooLarge: true };
    }
    if (error instanceof Refusal && REFUSED_BATCH.has(error.status)) return { refused: error };
    throw error;
  }
}

/**
 * A whole batch refused for what it is (malformed, a batch id taken): nothing was
 * applied, and sending it again would be refused again.
 */
const REFUSED_BATCH = new Set([400, 409, 422]);

/**
 * @param {{status: number, code: string, message: string}} refused
 */
function refusalOf(refused) {
  return { code: refused.code, message: `The server refused the batch: ${refused.message}` };
}

/**
 * The oldest batch of the outbox, but the one on its way, if any.
 * @param {Store} store
 * @param {string} onItsWay
 * @returns {Promise<Batch|null>}
 */
async function oldestBatch(store, onItsWay) {
  const batches = await store.transaction("outbox", "readonly", (tx) =>
    request(tx.objectStore("outbox").getAll()),
  );
  return inOutboxOrder(batches).find((b) => b.batch_id !== onItsWay) ?? null;
}

/**
 * @param {Batch[]} batches
 * @returns {Batch[]}
 */
function inOutboxOrder(batches) {
  return batches.sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
}

/**
 * The next batch of pending rows, written to the outbox in the transaction that reads
 * the rows (an edit cannot slip in between: the outbox holds the revs that were sent).
 * @param {Store} store
 * @param {number} upto the last edit this push sends
 * @param {Set<string>} sent the records sent already in this push
 * @returns {Promise<Batch|null>}
 */
function nextBatch(store, upto, sent) {
  return store.transaction(STORES, "readwrite", async (tx) => {
    const queue = await pushQueue(store, tx, upto, sent);
    if (queue.length === 0) return null;
    const batchId = crypto.randomUUID();
    const encoded = queue.slice(0, 1000).map(({ row, decision }, n) =>
      stringifyJSON(changeOf(row, `${batchId}.${n}`, decision)),
    );
    const taken = queue.slice(0, batchLength(encoded));
    const deviceId = await request(tx.objectStore("meta").get("device_id"));
    /** @type {Batch} */
    const batch = {
      batch_id: batchId,
      body: batchBody(deviceId, batchId, encoded.slice(0, taken.length)),
      snapshots: taken.map(({ row }) => snapshotOf(row)),
      created_at: new Date().toISOString(),
      order: Date.now(),
    };
    await request(tx.objectStore("outbox").add(batch));
    return batch;
  });
}

/**
 * What the device needs to know of a sent change when its result comes back (its values
 * are in the body).
 * @param {Row} row
 * @returns {Snapshot}
 */
function snapshotOf(row) {
  return { entity: row.entity, id: row.id, rev: row.rev, conflict_id: row.conflict_id ?? null };
}

/**
 * The rows to push, in push order, each with its decided conflict: pending rows edited
 * up to `upto`, not refused, not waiting for the user; and rows refused only for a
 * parent that goes now or is settled here (their refusal is cleared in `tx`).
 * @param {Store} store
 * @param {IDBTransaction} tx
 * @param {number} upto
 * @param {Set<string>} sent
 * @returns {Promise<{row: Row, decision: any}[]>}
 */
async function pushQueue(store, tx, upto, sent) {
  const records = tx.objectStore("records");
  /** @type {Row[]} */
  const pending = await request(records.index("by_pending").getAll(1));
  /** @type {Map<string, any>} */
  const conflicts = new Map(
    (await request(tx.objectStore("conflicts").getAll())).map((c) => [c.id, c]),
  );
  const fresh = pending.filter((r) => r.seq <= upto && !sent.has(`${r.entity}:${r.id}`));
  const waiting = (/** @type {Row} */ r) => r.conflict_id && !conflicts.get(r.conflict_id)?.choice;
  const rows = fresh.filter((r) => !r.error && !waiting(r));
  rows.push(...(await released(store, tx, fresh.filter((r) => r.error), rows, sent)));
  const ranks = parentRanks(store.project()?.entities ?? []);
  return inPushOrder(rows, ranks).map((row) => ({
    row,
    decision: row.conflict_id ? conflicts.get(row.conflict_id) ?? null : null,
  }));
}

/**
 * The refused rows to send again: those refused only for a parent that goes in this
 * push or is settled on the device. Their refusal is cleared: they are pending again.
 * @param {Store} store
 * @param {IDBTransaction} tx
 * @param {Row[]} refused
 * @param {Row[]} going
 * @param {Set<string>} sent
 * @returns {Promise<Row[]>}
 */
async function released(store, tx, refused, going, sent) {
  const entities = store.project()?.entities ?? [];
  const sending = new Set([...sent, ...going.map((r) => `${r.entity}:${r.id}`)]);
  const again = [];
  for (const row of refused) {
    const parent = parentOf(entities, row);
    if (parent === null) continue;
    const [entity, ...id] = parent.split(":");
    const here = sending.has(parent)
      ? null
      : await request(tx.objectStore("records").get([entity, id.join(":")]));
    if (sending.has(parent) || settledHere(here)) again.push({ ...row, error: null });
  }
  for (const row of again) await request(store.putRow(tx, row));
  return again;
}

/**
 * Store an answered batch's results and take it out of the outbox, in one transaction.
 * @param {Store} store
 * @param {Batch} batch
 * @param {unknown} answer
 * @param {PushCounts} counts
 */
async function settleBatch(store, batch, answer, counts) {
  const changes = /** @type {{changes: Change[]}} */ (parseJSON(batch.body)).changes;
  const results = resultsOf(answer, changes.length);
  if (results === null) throw new NotAnAnswer();
  const sent = batch.snapshots.map((snapshot, n) => ({ snapshot, change: changes[n] }));
  await store.transaction(STORES, "readwrite", async (tx) => {
    const rows = await rowsOf(tx, batch.snapshots);
    const conflicts = await conflictsOf(tx, batch.snapshots);
    const writes = plan(sent, results, rows, conflicts, new Date().toISOString());
    await write(store, tx, writes);
    await request(tx.objectStore("outbox").delete(batch.batch_id));
    await store.log("push", { batch_id: batch.batch_id, statuses: writes.counts }, tx);
    tally(counts, writes);
  });
  store.notify("records");
  store.notify("conflicts");
}

/** An answer to a push that is not a fieldsync server's results: a transport failure. */
export class NotAnAnswer extends Error {
  constructor() {
    super("the answer to a push is not a fieldsync server's results");
    this.name = "NotAnAnswer";
  }
}

/**
 * @param {PushCounts} counts
 * @param {import("./results.js").Plan} writes
 */
function tally(counts, writes) {
  for (const [status, n] of Object.entries(writes.counts)) {
    counts.statuses[status] = (counts.statuses[status] ?? 0) + n;
    counts.pushed += n;
  }
  counts.conflicts += writes.counts.conflict ?? 0;
  counts.refused += writes.counts.rejected ?? 0;
  counts.notices += writes.notices.length;
}

/**
 * The rows a batch touches, by "entity:id".
 * @param {IDBTransaction} tx
 * @param {{entity: string, id: string}[]} keys
 * @returns {Promise<Map<string, Row>>}
 */
async function rowsOf(tx, keys) {
  const records = tx.objectStore("records");
  const found = await Promise.all(keys.map((k) => request(records.get([k.entity, k.id]))));
  return new Map(found.filter(Boolean).map((row) => [`${row.entity}:${row.id}`, row]));
}

/**
 * The conflicts a batch's changes resolve, by id.
 * @param {IDBTransaction} tx
 * @param {{conflict_id?: string|null}[]} snapshots
 * @returns {Promise<Map<string, any>>}
 */
async function conflictsOf(tx, snapshots) {
  const store = tx.objectStore("conflicts");
  const ids = snapshots.map((s) => s.conflict_id).filter((id) => typeof id === "string");
  const found = await Promise.all(ids.map((id) => request(store.get(id))));
  return new Map(found.filter(Boolean).map((c) => [c.id, c]));
}

/**
 * Write a plan in the caller's transaction.
 * @param {Store} store
 * @param {IDBTransaction} tx
 * @param {import("./results.js").Plan} writes
 */
async function write(store, tx, writes) {
  const records = tx.objectStore("records");
  const conflicts = tx.objectStore("conflicts");
  const notices = tx.objectStore("notices");
  /** @type {IDBRequest<any>[]} */
  const requests = [
    ...writes.removes.map((key) => records.delete(key)),
    ...writes.puts.map((row) => store.putRow(tx, /** @type {Row} */ (row))),
    ...writes.conflictDeletes.map((id) => conflicts.delete(id)),
    ...writes.conflictPuts.map((conflict) => conflicts.put(conflict)),
    ...writes.notices.map((notice) => notices.put(notice)),
  ];
  await Promise.all(requests.map((r) => request(r)));
  if (writes.notices.length > 0) await forgetOldNotices(notices);
}

/** How long a notice is kept (the screen shows those of the last seven days). */
const NOTICE_DAYS = 7;

/**
 * Drop the notices past their days, when new ones come.
 * @param {IDBObjectStore} notices
 */
async function forgetOldNotices(notices) {
  const since = new Date(Date.now() - NOTICE_DAYS * 86_400_000).toISOString();
  /** @type {{id: string, at: string}[]} */
  const all = await request(notices.getAll());
  await Promise.all(all.filter((n) => n.at < since).map((n) => request(notices.delete(n.id))));
}

/**
 * A batch refused as a whole changed nothing on the server: its changes are kept as
 * refused (Sync errors: retry or discard) instead of being sent again at every sync.
 * @param {Store} store
 * @param {Batch} batch
 * @param {{code: string, message: string}} error
 * @param {PushCounts} counts
 */
async function hold(store, batch, error, counts) {
  await store.transaction(STORES, "readwrite", async (tx) => {
    const rows = await rowsOf(tx, batch.snapshots);
    const conflicts = await conflictsOf(tx, batch.snapshots);
    const writes = emptyPlan();
    for (const snapshot of batch.snapshots) {
      const row = rows.get(`${snapshot.entity}:${snapshot.id}`) ?? null;
      const decided = snapshot.conflict_id ? conflicts.get(snapshot.conflict_id) ?? null : null;
      refuse(writes, row, snapshot, error, decided);
    }
    writes.counts.rejected = batch.snapshots.length;
    await write(store, tx, writes);
    await request(tx.objectStore("outbox").delete(batch.batch_id));
    await store.log("push_refused", { batch_id: batch.batch_id, error }, tx);
    tally(counts, writes);
  });
  store.notify("records");
}

/**
 * A batch answered 413 changed nothing: it is replaced in the outbox by its two halves,
 * each under a new batch id (written before either is sent, so a closed tab resends the
 * same ids); a single change too large becomes a refused change.
 * @param {Store} store
 * @param {Batch} batch
 * @param {PushCounts} counts
 */
async function split(store, batch, counts) {
  if (batch.snapshots.length === 1) {
    await hold(store, batch, { code: "too_large", message: TOO_LARGE }, counts);
    return;
  }
  await store.transaction("outbox", "readwrite", async (tx) => {
    const outbox = tx.objectStore("outbox");
    const batches = inOutboxOrder(await request(outbox.getAll()));
    await request(outbox.clear());
    const halves = halvesOf(batch); // written in the batch's place, the others in order
    const rows = batches.flatMap((b) => (b.batch_id === batch.batch_id ? halves : [b]));
    await Promise.all(rows.map((row, n) => request(outbox.add({ ...row, order: n }))));
  });
}

/**
 * A batch's changes as two batches, each change under a change id of its new batch.
 * @param {Batch} batch
 * @returns {Batch[]}
 */
function halvesOf(batch) {
  const { device_id: deviceId, changes } = parseJSON(batch.body);
  const middle = Math.floor(changes.length / 2);
  return [
    [0, middle],
    [middle, changes.length],
  ].map(([from, to]) => {
    const batchId = crypto.randomUUID();
    const part = changes
      .slice(from, to)
      .map((/** @type {Change} */ c, /** @type {number} */ n) => stringifyJSON({ ...c, change_id: `${batchId}.${n}` }));
    return {
      batch_id: batchId,
      body: batchBody(deviceId, batchId, part),
      snapshots: batch.snapshots.slice(from, to),
      created_at: batch.created_at,
      order: batch.order,
    };
  });
}

/**
 * Apply the answers of `POST /v1/sync/conflicts`: a conflict a console resolved takes
 * the server's outcome (edits made since based on the record the resolution wrote); one
 * the server met again (`superseded_by`) moves to the new id, keeping D against the
 * newest server version, undecided and marked `superseded` so the screen can explain it
 * and ask again.
 * @param {Store} store
 * @param {ConflictStatus[]} statuses
 * @returns {Promise<{resolved: number, superseded: number}>}
 */
export async function applyConflictStatus(store, statuses) {
  const answers = statuses.filter((a) => a.status !== "open");
  if (answers.length === 0) return { resolved: 0, superseded: 0 };
  const done = { resolved: 0, superseded: 0 };
  await store.transaction(["records", "conflicts", "log"], "readwrite", async (tx) => {
    const conflicts = tx.objectStore("conflicts");
    const at = new Date().toISOString();
    for (const answer of answers) {
      const conflict = await request(conflicts.get(answer.id));
      if (!conflict) continue;
      if (answer.superseded_by) await moved(store, tx, conflict, answer, at);
      else await resolvedRemotely(store, tx, conflict, answer);
      done[answer.superseded_by ? "superseded" : "resolved"] += 1;
    }
    await store.log("conflict_status", done, tx);
  });
  store.notify("conflicts");
  store.notify("records");
  return done;
}

/**
 * A conflict a console resolved: its record, as the device kept it, onto the outcome
 * (the record as the resolution left it; as it is now, when the server does not say).
 * @param {Store} store
 * @param {IDBTransaction} tx
 * @param {any} conflict
 * @param {ConflictStatus} answer
 */
async function resolvedRemotely(store, tx, conflict, answer) {
  const records = tx.objectStore("records");
  const key = [conflict.entity, conflict.record_id];
  const row = (await request(records.get(key))) ?? null;
  if (answer.version === null && !answer.result) {
    await leftTheScope(store, tx, conflict, row);
    return;
  }
  const newest = { version: answer.version, record: answer.record, deleted: answer.deleted };
  const sent = { rev: conflict.rev, data: conflict.device };
  const { entity, record_id: id } = conflict;
  const next = settleResolved(entity, id, row, sent, answer.result ?? newest, newest);
  if (next) await request(store.putRow(tx, /** @type {Row} */ (next)));
  else if (row) await request(records.delete(key));
  await request(tx.objectStore("conflicts").delete(conflict.id));
}

/**
 * A resolved conflict whose record left the scope (the server says nothing of it, not
 * even what the resolution wrote). A record not edited since leaves with the scope (the
 * resolution decided its change); one edited meanwhile stays as the phone keeps it,
 * unsynced beside the deletion the pull brings, as any record that leaves the scope
 * with an unsynced edit (its push is refused; Sync errors offers retry or discard).
 * @param {Store} store
 * @param {IDBTransaction} tx
 * @param {any} conflict
 * @param {Row|null} row
 */
async function leftTheScope(store, tx, conflict, row) {
  const records = tx.objectStore("records");
  if (row && row.rev === conflict.rev) await request(records.delete([conflict.entity, conflict.record_id]));
  else if (row) await request(store.putRow(tx, { ...row, conflict_id: null }));
  await request(tx.objectStore("conflicts").delete(conflict.id));
}

/**
 * A conflict the server met again: the same D against the newest server version, under
 * the id of the conflict that took its place. A record that left the scope shows no
 * newer version: the conflict keeps the one it met (a decision is based on it).
 * @param {Store} store
 * @param {IDBTransaction} tx
 * @param {any} conflict
 * @param {{version: number|null, record: any, deleted: boolean, superseded_by?: string|null}} answer
 * @param {string} at
 */
async function moved(store, tx, conflict, answer, at) {
  const id = /** @type {string} */ (answer.superseded_by);
  const inScope = answer.version !== null;
  const server = { version: answer.version, record: answer.record, deleted: answer.deleted };
  const facing = inScope
    ? {
        kind: kindOf(conflict.device, answer.deleted),
        server: answer.record,
        server_deleted: answer.deleted,
        server_version: answer.version,
      }
    : {};
  const conflicts = tx.objectStore("conflicts");
  await request(conflicts.delete(conflict.id));
  await request(
    conflicts.put({
      ...conflict,
      id,
      ...facing,
      choice: null,
      picks: null,
      decided_at: null,
      superseded: { previous_choice: conflict.choice ?? null, at },
    }),
  );
  const records = tx.objectStore("records");
  const row = await request(records.get([conflict.entity, conflict.record_id]));
  const beside = inScope ? serverBeside(server) : {};
  if (row) await request(store.putRow(tx, { ...row, conflict_id: id, ...beside }));
}
