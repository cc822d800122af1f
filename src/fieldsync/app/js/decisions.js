// The user's decisions on Sync errors: a choice for an open conflict (kept until the next
// sync sends it, and undone until then), the same choice for all of them, and "discard"
// or "retry" of a refused change.
//
// A decision is only written here; the engine sends it at the next sync (push.js makes a
// merge then, from `picks`, over the record as it is). While a batch carrying a record
// waits in the outbox its decision is on its way and can no longer be undone.

import { request } from "./store.js";
import { defaultPicks, summary, threeWay } from "./threeway.js";

/** @typedef {import("./store.js").Store} Store */
/** @typedef {import("./store.js").Row} Row */
/** @typedef {import("./threeway.js").Choice} Choice */
/** @typedef {import("./threeway.js").Picks} Picks */

/** A decision that cannot be made: the screen says `message`. */
export class DecisionRefused extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = "DecisionRefused";
    this.code = code;
  }
}

const CHOICES = new Set(["device", "server", "merge"]);

/**
 * Decide one open conflict; the next sync sends the decision.
 * @param {Store} store
 * @param {string} conflictId
 * @param {Choice} choice
 * @param {Picks} [picks] for a merge: the side of each field (the side that changed it otherwise)
 */
export async function decide(store, conflictId, choice, picks) {
  if (!CHOICES.has(choice)) throw new DecisionRefused("unknown_choice", `No such choice: ${choice}`);
  await store.transaction(["conflicts", "records", "outbox"], "readwrite", async (tx) => {
    const conflict = await openConflict(tx, conflictId);
    await notSending(tx, conflict.entity, conflict.record_id);
    const row = await request(tx.objectStore("records").get([conflict.entity, conflict.record_id]));
    await request(tx.objectStore("conflicts").put(decided(conflict, row ?? null, choice, picks)));
  });
  store.notify("conflicts");
}

/**
 * The conflict with the user's decision (a merge keeps a side for every field changed).
 * @param {any} conflict
 * @param {Row|null} row the record as it is on the phone now
 * @param {Choice} choice
 * @param {Picks} [picks]
 */
function decided(conflict, row, choice, picks) {
  const view = threeWay(conflict, { mine: row?.data });
  if (choice === "merge" && !view.canMerge) {
    throw new DecisionRefused("cannot_merge", "Only two versions of a record can be merged.");
  }
  const merge = choice === "merge" ? { ...defaultPicks(view.rows), ...(picks ?? {}) } : null;
  return { ...conflict, choice, picks: merge, decided_at: new Date().toISOString(), superseded: null };
}

/**
 * Take back a decision not sent yet: the conflict is open again.
 * @param {Store} store
 * @param {string} conflictId
 */
export async function undo(store, conflictId) {
  await store.transaction(["conflicts", "outbox"], "readwrite", async (tx) => {
    const conflict = await request(tx.objectStore("conflicts").get(conflictId));
    if (!conflict?.choice) throw new DecisionRefused("not_decided", "This conflict has no decision to undo.");
    await notSending(tx, conflict.entity, conflict.record_id);
    await request(tx.objectStore("conflicts").put({ ...conflict, choice: null, picks: null, decided_at: null }));
  });
  store.notify("conflicts");
}

/**
 * What one choice for every open conflict would do: N keep mine, M keep the office's,
 * K deleted from this phone.
 * @param {Store} store
 * @param {Choice} choice
 */
export async function summarize(store, choice) {
  return summary(await store.openConflicts(), choice);
}

/**
 * Make the same choice for every open conflict (a merge is one record at a time).
 * @param {Store} store
 * @param {Choice} choice
 * @returns {Promise<ReturnType<typeof summary>>} what it decided
 */
export async function decideAll(store, choice) {
  if (choice === "merge") throw new DecisionRefused("cannot_merge_all", "Merge one conflict at a time.");
  const open = await store.openConflicts();
  for (const conflict of open) await decide(store, conflict.id, choice);
  return summary(open, choice);
}

/**
 * Send a refused change again at the next sync, as it is.
 * @param {Store} store
 * @param {string} entity
 * @param {string} id
 */
export async function retry(store, entity, id) {
  await changeRefused(store, entity, id, (row) => ({ ...row, error: null }));
}

/**
 * Drop a refused change: the record goes back to the server's newest state this phone
 * knows (what a pull brought meanwhile, else its base); a record the server has none of
 * for this user (a refused create, `not_found`, deleted there) leaves the phone.
 * @param {Store} store
 * @param {string} entity
 * @param {string} id
 */
export async function discard(store, entity, id) {
  await changeRefused(store, entity, id, serverState);
}

/**
 * The row back at the server's state, or null when the server holds none.
 * @param {Row} row
 * @returns {Row|null}
 */
export function serverState(row) {
  const clean = { error: null, state: /** @type {const} */ ("synced"), base: null, server_version: null, server_data: null, server_deleted: false };
  if (row.server_version !== null && row.server_version !== undefined) {
    if (row.server_deleted || !row.server_data) return null;
    return { ...row, ...clean, base_version: row.server_version, data: row.server_data };
  }
  if (row.state === "created" || row.error?.code === "not_found" || row.base_version === null) return null;
  return { ...row, ...clean, data: row.base ?? row.data };
}

/**
 * Rewrite a refused row (or remove it when `change` gives null), unless it is being sent.
 * @param {Store} store
 * @param {string} entity
 * @param {string} id
 * @param {(row: Row) => Row|null} change
 */
async function changeRefused(store, entity, id, change) {
  await store.transaction(["records", "outbox"], "readwrite", async (tx) => {
    const records = tx.objectStore("records");
    /** @type {Row|undefined} */
    const row = await request(records.get([entity, id]));
    if (!row?.error) throw new DecisionRefused("not_refused", "This record has no refused change.");
    await notSending(tx, entity, id);
    const next = change(row);
    if (next) await request(store.putRow(tx, next));
    else await request(records.delete([entity, id]));
  });
  store.notify("records");
}

/**
 * @param {IDBTransaction} tx
 * @param {string} conflictId
 */
async function openConflict(tx, conflictId) {
  const conflict = await request(tx.objectStore("conflicts").get(conflictId));
  if (!conflict) throw new DecisionRefused("unknown_conflict", "This conflict is settled already.");
  return conflict;
}

/**
 * Refuse to change a record whose change waits in the outbox: it is being sent.
 * @param {IDBTransaction} tx
 * @param {string} entity
 * @param {string} id
 */
async function notSending(tx, entity, id) {
  /** @type {{snapshots: {entity: string, id: string}[]}[]} */
  const batches = await request(tx.objectStore("outbox").getAll());
  if (batches.some((b) => b.snapshots.some((s) => s.entity === entity && s.id === id))) {
    throw new DecisionRefused("being_sent", "This is being sent to the server now.");
  }
}
