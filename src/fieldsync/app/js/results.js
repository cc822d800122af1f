// The results of a pushed batch as the writes they make on the device: rows settled or
// rebased, changes refused, conflicts opened or ended, and notices of what a policy
// replaced of what the worker typed. Pure: the caller reads the rows and conflicts the
// batch touches, and writes what `plan` returns in one transaction.

import { sentValues, same } from "./changes.js";
import { settle } from "./rebase.js";

/**
 * @typedef {import("./changes.js").Values} Values
 * @typedef {import("./changes.js").Change} Change
 * @typedef {import("./rebase.js").Row} Row
 * @typedef {{entity: string, id: string, rev: number, conflict_id?: string|null}} Snapshot
 * @typedef {{change_id?: string, status: string, version: number|null, record: Values|null,
 *   deleted: boolean, conflict_id?: string|null, error?: any}} Result
 * @typedef {{name: string, typed: unknown, kept: unknown}} Replaced
 * @typedef {{id: string, at: string, entity: string, record_id: string, title: string,
 *   outcome: string, op: string, deleted: boolean, fields: Replaced[]}} Notice
 * @typedef {{puts: Row[], removes: [string, string][], conflictPuts: Record<string, any>[],
 *   conflictDeletes: string[], notices: Notice[], counts: Record<string, number>}} Plan
 */

/** The statuses of a result (docs/protocol.md); anything else is not a fieldsync answer. */
export const STATUSES = new Set([
  "applied",
  "merged",
  "device_wins",
  "server_wins",
  "conflict",
  "rejected",
]);

/** Outcomes where the server may have kept something other than what the worker typed. */
const POLICY_OUTCOMES = new Set(["server_wins", "device_wins", "merged"]);

/**
 * The results of a push answer, one per change sent, or null when the answer holds no
 * such thing (only a fieldsync server's results may settle a change).
 * @param {unknown} answer
 * @param {number} sent
 * @returns {Result[]|null}
 */
export function resultsOf(answer, sent) {
  const results = isObject(answer) ? answer.results : null;
  if (!Array.isArray(results) || results.length !== sent) return null;
  return results.every(isResult) ? results : null;
}

/**
 * A result of a known status; an open conflict names its id.
 * @param {unknown} result
 */
function isResult(result) {
  if (!isObject(result) || !STATUSES.has(String(result.status))) return false;
  return result.status !== "conflict" || typeof result.conflict_id === "string";
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, any>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A fresh plan with nothing to write. */
export function emptyPlan() {
  /** @type {Plan} */
  const plan = { puts: [], removes: [], conflictPuts: [], conflictDeletes: [], notices: [], counts: {} };
  return plan;
}

/**
 * The writes a batch's results make.
 * @param {{snapshot: Snapshot, change: Change}[]} sent the batch's changes, in order
 * @param {Result[]} results one per change, in the same order
 * @param {Map<string, Row>} rows the touched rows as they are now, by "entity:id"
 * @param {Map<string, Record<string, any>>} conflicts the touched conflicts, by id
 * @param {string} at now, as an ISO string
 * @returns {Plan}
 */
export function plan(sent, results, rows, conflicts, at) {
  const writes = emptyPlan();
  sent.forEach(({ snapshot, change }, n) => {
    const result = results[n];
    writes.counts[result.status] = (writes.counts[result.status] ?? 0) + 1;
    const row = rows.get(`${snapshot.entity}:${snapshot.id}`) ?? null;
    const decided = snapshot.conflict_id ? conflicts.get(snapshot.conflict_id) ?? null : null;
    if (result.status === "rejected") refuse(writes, row, snapshot, result.error, decided);
    else if (result.status === "conflict") open(writes, row, snapshot, change, result, at);
    else applied(writes, row, snapshot, change, result, at);
  });
  return writes;
}

/**
 * Keep a refused change for "fix and retry" or "discard" (an edit made meanwhile is
 * retried as it is); a decision it carried is undone, for the user to decide again.
 * @param {Plan} writes
 * @param {Row|null} row
 * @param {Snapshot} snapshot
 * @param {any} error
 * @param {Record<string, any>|null} decided
 */
export function refuse(writes, row, snapshot, error, decided) {
  if (row && row.rev === snapshot.rev) writes.puts.push({ ...row, error });
  if (decided) writes.conflictPuts.push({ ...decided, choice: null, picks: null, decided_at: null });
}

/**
 * An open User Action conflict: the device keeps D until the user decides. A decision
 * met by a newer server version comes back as this new conflict, marked `superseded`.
 * @param {Plan} writes
 * @param {Row|null} row
 * @param {Snapshot} snapshot
 * @param {Change} change
 * @param {Result} result
 * @param {string} at
 */
function open(writes, row, snapshot, change, result, at) {
  const id = /** @type {string} */ (result.conflict_id);
  const device = sentValues(change);
  if (snapshot.conflict_id && snapshot.conflict_id !== id) {
    writes.conflictDeletes.push(snapshot.conflict_id);
  }
  writes.conflictPuts.push({
    id,
    entity: snapshot.entity,
    record_id: snapshot.id,
    kind: kindOf(device, result.deleted),
    base: change.base,
    device,
    server: result.record,
    server_deleted: result.deleted,
    server_version: result.version,
    rev: snapshot.rev,
    created_at: at,
    choice: null,
    picks: null,
    decided_at: null,
    superseded: change.resolves ? { previous_choice: change.resolution, at } : null,
  });
  if (row) writes.puts.push({ ...row, conflict_id: id, ...serverBeside(result) });
}

/**
 * What met what: the device's change and the server's state.
 * @param {Values|null} device
 * @param {boolean} serverDeleted
 */
export function kindOf(device, serverDeleted) {
  if (!device) return "delete_update";
  return serverDeleted ? "update_delete" : "update_update";
}

/**
 * The server's state as a row keeps it beside unsynced changes.
 * @param {{version: number|null, record: Values|null, deleted: boolean}} server
 */
export function serverBeside(server) {
  return {
    server_version: server.version,
    server_data: server.record,
    server_deleted: server.deleted,
  };
}

/**
 * A change the server settled (applied, merged or decided by a policy): the row takes
 * the server's state, or keeps edits made since it was sent laid over it.
 * @param {Plan} writes
 * @param {Row|null} row
 * @param {Snapshot} snapshot
 * @param {Change} change
 * @param {Result} result
 * @param {string} at
 */
function applied(writes, row, snapshot, change, result, at) {
  // echo=changed: a record stored exactly as sent comes back as null.
  const record = result.record ?? (result.deleted ? null : change.record);
  const server = { version: result.version, record, deleted: result.deleted };
  const sent = { rev: snapshot.rev, data: sentValues(change) };
  const next = settle(snapshot.entity, snapshot.id, row, sent, server);
  if (next) writes.puts.push(next);
  else if (row) writes.removes.push([snapshot.entity, snapshot.id]);
  if (snapshot.conflict_id) writes.conflictDeletes.push(snapshot.conflict_id);
  // A decision the user made is what they asked for: nothing to tell them.
  if (POLICY_OUTCOMES.has(result.status) && !change.resolves) {
    const notice = noticeOf(row, snapshot, change, result.status, server, at);
    if (notice) writes.notices.push(notice);
  }
}

/**
 * What a policy replaced of what the worker typed, if anything: each typed field whose
 * kept value differs, or a delete the server undid.
 * @param {Row|null} row
 * @param {Snapshot} snapshot
 * @param {Change} change
 * @param {string} outcome
 * @param {{record: Values|null, deleted: boolean}} server
 * @param {string} at
 * @returns {Notice|null}
 */
export function noticeOf(row, snapshot, change, outcome, server, at) {
  const kept = server.deleted ? {} : server.record ?? {};
  /** @type {Replaced[]} */
  const fields = Object.entries(change.fields)
    .filter(([name, typed]) => !same(typed, kept[name] ?? null))
    .map(([name, typed]) => ({ name, typed, kept: kept[name] ?? null }));
  const undone = change.op === "delete" && !server.deleted;
  if (fields.length === 0 && !undone && !(server.deleted && change.op !== "delete")) return null;
  return {
    id: crypto.randomUUID(),
    at,
    entity: snapshot.entity,
    record_id: snapshot.id,
    title: String(row?.title ?? titleOf(server.record ?? sentValues(change))),
    outcome,
    op: change.op,
    deleted: server.deleted,
    fields,
  };
}

/**
 * A record's display name when the row is gone: its first non-empty text value.
 * @param {Values|null} values
 */
function titleOf(values) {
  const text = Object.values(values ?? {}).find((v) => typeof v === "string" && v !== "");
  return typeof text === "string" ? text : "";
}
