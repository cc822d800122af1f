// Pending rows as the changes of a push (docs/protocol.md, "Push"): what changed
// against base, all of D, the user's decision on a conflict, and the order parents
// before children. Pure functions: no storage, no network.

import { stringifyJSON } from "./wire.js";

/** Changes in one batch at most, and its body's size at most (under the server's 10 MB). */
export const BATCH_SIZE = 1000;
export const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * @typedef {Record<string, unknown>} Values
 * @typedef {{entity: string, id: string, base_version: number|null, base: Values|null,
 *   data: Values|null, state: string, rev: number, seq: number, conflict_id: string|null,
 *   error: unknown, title?: string}} PendingRow
 * @typedef {{id: string, choice: string|null, picks: Record<string, string>|null,
 *   server: Values|null, server_version: number}} Decision
 * @typedef {{change_id: string, entity: string, id: string, op: string,
 *   base_version: number|null, base: Values|null, fields: Values, record: Values|null,
 *   resolves?: string, resolution?: string, merged_from?: Values}} Change
 * @typedef {{name: string, type: string, target?: string|null}} FieldDef
 * @typedef {{name: string, fields: FieldDef[]}} EntityDef
 */

/**
 * The fields whose values differ between two records (a missing record: all of the other's).
 * @param {Values|null} a
 * @param {Values|null} b
 * @returns {string[]}
 */
export function differing(a, b) {
  if (!a || !b) return Object.keys(a ?? b ?? {});
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((name) => !same(a[name], b[name]));
}

/**
 * Equal as JSON values (field values are scalars, integers past 2^53 BigInt; objects
 * compare by their JSON).
 * @param {unknown} a
 * @param {unknown} b
 */
export function same(a, b) {
  if (a === b) return true;
  if (a === undefined || b === undefined) return a === b;
  return stringifyJSON(a) === stringifyJSON(b);
}

/**
 * A record taking each field from the side picked for it. A field not picked (edited here
 * after the user decided, say) comes from the side that changed it since `base`: the
 * device's when only the device changed it, else the server's.
 * @param {Values} device
 * @param {Values} server
 * @param {Record<string, string>} picks
 * @param {Values|null} [base]
 * @returns {Values}
 */
export function mergeFields(device, server, picks, base = null) {
  /** @type {Values} */
  const merged = {};
  for (const name of new Set([...Object.keys(device), ...Object.keys(server)])) {
    const side = picks[name] ?? (onlyDeviceChanged(name, device, server, base) ? "device" : "server");
    merged[name] = side === "device" ? device[name] : server[name];
  }
  return merged;
}

/**
 * @param {string} name
 * @param {Values} device
 * @param {Values} server
 * @param {Values|null} base
 */
function onlyDeviceChanged(name, device, server, base) {
  const before = base?.[name] ?? null;
  return !same(device[name] ?? null, before) && same(server[name] ?? null, before);
}

/**
 * A pending row's change as sent, under `changeId`. `decision` is the row's conflict
 * when the user decided it: the change then resolves it, and a merge is made now, of
 * the record as it is (D goes along as `merged_from` for the journal).
 * @param {PendingRow} row
 * @param {string} changeId
 * @param {Decision|null} decision
 * @returns {Change}
 */
export function changeOf(row, changeId, decision) {
  const base = row.base ?? (row.state === "created" ? null : row.data);
  /** @type {Change} */
  const change = {
    change_id: changeId,
    entity: row.entity,
    id: row.id,
    op: OPS[row.state] ?? "update",
    base_version: row.base_version,
    base,
    fields: {},
    record: row.data,
  };
  if (change.op === "create") {
    change.fields = row.data ?? {};
    change.base = null;
  } else if (change.op === "update") {
    change.fields = changedFields(base, row.data);
  }
  if (decision?.choice) resolve(change, decision);
  return change;
}

/** @type {Record<string, string>} */
const OPS = { created: "create", updated: "update", deleted: "delete" };

/**
 * The fields D changed against base; a field D lacks is not the device's change (the
 * project dropped it since base).
 * @param {Values|null} base
 * @param {Values|null} data
 * @returns {Values}
 */
function changedFields(base, data) {
  /** @type {Values} */
  const fields = {};
  for (const name of differing(base, data)) {
    if (data && name in data) fields[name] = data[name];
  }
  return fields;
}

/**
 * Make `change` carry the user's decision on its conflict.
 * @param {Change} change
 * @param {Decision} decision
 */
function resolve(change, decision) {
  change.resolves = decision.id;
  change.resolution = /** @type {string} */ (decision.choice);
  change.base_version = decision.server_version;
  const device = change.record;
  if (decision.choice !== "merge" || !decision.picks || !device || !decision.server) return;
  const merged = mergeFields(device, decision.server, decision.picks, change.base);
  change.fields = {};
  for (const name of differing(change.base, merged)) change.fields[name] = merged[name];
  change.record = merged;
  change.merged_from = device;
}

/**
 * What the device sent of a record: D before any merge (null for a delete).
 * @param {Change} change
 * @returns {Values|null}
 */
export function sentValues(change) {
  return change.merged_from ?? change.record;
}

/**
 * Each entity's rank in the lookup graph: entities looked up by others come first, so
 * parents are pushed before children (a self-lookup or a cycle does not count).
 * @param {EntityDef[]} entities
 * @returns {Map<string, number>}
 */
export function parentRanks(entities) {
  /** @type {Map<string, string[]>} */
  const targets = new Map();
  for (const entity of entities) {
    const looked = entity.fields
      .filter((f) => f.type === "lookup" && f.target && f.target !== entity.name)
      .map((f) => /** @type {string} */ (f.target));
    targets.set(entity.name, looked);
  }
  /** @type {Map<string, number>} */
  const ranks = new Map();
  /**
   * @param {string} name
   * @param {Set<string>} path
   * @returns {number}
   */
  const rank = (name, path) => {
    const known = ranks.get(name);
    if (known !== undefined) return known;
    const parents = (targets.get(name) ?? []).filter((t) => !path.has(t));
    const deeper = parents.map((p) => rank(p, new Set([...path, name])));
    const value = 1 + Math.max(-1, ...deeper);
    ranks.set(name, value);
    return value;
  };
  for (const name of targets.keys()) rank(name, new Set());
  return ranks;
}

/**
 * Rows in push order: parents' entities first, then the order the edits were made.
 * @template {{entity: string, seq: number}} R
 * @param {R[]} rows
 * @param {Map<string, number>} ranks
 * @returns {R[]}
 */
export function inPushOrder(rows, ranks) {
  const rankOf = (/** @type {R} */ row) => ranks.get(row.entity) ?? 0;
  return [...rows].sort((a, b) => rankOf(a) - rankOf(b) || a.seq - b.seq);
}

/**
 * The encoded changes that fit in one batch, from the front of `encoded`: at most
 * BATCH_SIZE, and at most BATCH_BYTES unless one change alone is larger (then it goes
 * alone, and a 413 makes it a refusal).
 * @param {string[]} encoded
 * @returns {number} how many of them
 */
export function batchLength(encoded) {
  let size = 0;
  let n = 0;
  for (const change of encoded.slice(0, BATCH_SIZE)) {
    size += utf8.encode(change).length;
    if (n > 0 && size > BATCH_BYTES) break;
    n += 1;
  }
  return n;
}

const utf8 = new TextEncoder();

/**
 * A batch's body, exactly as it is stored in the outbox and sent.
 * @param {string} deviceId
 * @param {string} batchId
 * @param {string[]} encoded the changes, each encoded once
 */
export function batchBody(deviceId, batchId, encoded) {
  const head = JSON.stringify({ device_id: deviceId, batch_id: batchId });
  return `${head.slice(0, -1)},"changes":[${encoded.join(",")}]}`;
}
