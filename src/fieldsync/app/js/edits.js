// The user's own changes: create, edit and delete records on the phone.
//
// Every edit bumps the row's `rev` (so a sync in flight can tell it apart) and takes the
// next `seq` (so changes are pushed in the order they were made). Editing a refused
// record clears its error: the edit is the fix, retried at the next sync. Values are
// checked against the project first, as the server will check them, and a failure
// throws `FieldErrors` that the form shows next to each field.

import { request } from "./store.js";

/** @typedef {import("./store.js").Store} Store */
/** @typedef {import("./store.js").Entity} Entity */
/** @typedef {import("./store.js").Row} Row */
/** @typedef {import("./store.js").Values} Values */

/** What is wrong with the values typed, per field: `{field: message}`. */
export class FieldErrors extends Error {
  /** @param {Record<string, string>} fields */
  constructor(fields) {
    super(Object.values(fields).join("; "));
    this.name = "FieldErrors";
    this.fields = fields;
  }
}

const LARGEST_INTEGER = 2n ** 63n - 1n;

/**
 * Create a record on the phone.
 * @param {Store} store
 * @param {string} entityName
 * @param {Values} values
 * @returns {Promise<string>} its new id (a UUID v7: time-ordered)
 */
export async function createRecord(store, entityName, values) {
  const entity = entityOf(store, entityName);
  const data = normalize(entity, values);
  await check(store, entity, data, data);
  const id = uuid7();
  await store.transaction(["records", "meta"], "readwrite", async (tx) => {
    /** @type {Row} */
    const row = {
      entity: entity.name, id, base_version: null, base: null, data, state: "created",
      rev: 1, seq: await nextSeq(store, tx), error: null, conflict_id: null,
    };
    await request(store.putRow(tx, row));
  });
  store.notify("records");
  return id;
}

/**
 * Change some fields of a record on the phone (only the fields in `values`).
 * @param {Store} store
 * @param {string} entityName
 * @param {string} id
 * @param {Values} values
 */
export async function updateRecord(store, entityName, id, values) {
  const entity = entityOf(store, entityName);
  const row = await liveRow(store, entity, id);
  const changed = normalize(entity, values);
  const data = { ...row.data, ...changed };
  await check(store, entity, changed, data);
  await store.transaction(["records", "meta"], "readwrite", async (tx) => {
    const current = /** @type {Row} */ (await request(tx.objectStore("records").get([entity.name, id])));
    if (current.rev !== row.rev) throw new FieldErrors({ "": "The record changed meanwhile: open it again." });
    const base = current.state === "synced" ? (current.base ?? current.data) : current.base;
    let state = current.state;
    if ((state === "synced" || state === "updated") && !current.conflict_id) {
      state = differs(base ?? {}, data) ? "updated" : "synced";
    }
    await request(store.putRow(tx, {
      ...current, base: state === "synced" ? null : base, data, state,
      rev: current.rev + 1, seq: await nextSeq(store, tx), error: null,
    }));
  });
  store.notify("records");
}

/**
 * Delete a record on the phone (a record never synced simply disappears).
 * @param {Store} store
 * @param {string} entityName
 * @param {string} id
 */
export async function deleteRecord(store, entityName, id) {
  const entity = entityOf(store, entityName);
  await liveRow(store, entity, id);
  await store.transaction(["records", "meta"], "readwrite", async (tx) => {
    const records = tx.objectStore("records");
    const current = /** @type {Row} */ (await request(records.get([entity.name, id])));
    if (current.state === "created") {
      await request(records.delete([entity.name, id]));
      return;
    }
    const base = current.state === "synced" ? (current.base ?? current.data) : current.base;
    await request(store.putRow(tx, {
      ...current, base, data: null, state: "deleted",
      rev: current.rev + 1, seq: await nextSeq(store, tx), error: null,
    }));
  });
  store.notify("records");
}

/**
 * What createRecord (no `id`) or updateRecord (`id`) would find wrong with `values`,
 * without writing anything: `{field: message}`, empty when nothing is wrong.
 * @param {Store} store
 * @param {string} entityName
 * @param {Values} values
 * @param {string} [id]
 * @returns {Promise<Record<string, string>>}
 */
export async function problemsOf(store, entityName, values, id) {
  try {
    const entity = entityOf(store, entityName);
    const changed = normalize(entity, values);
    const data = id ? { ...(await liveRow(store, entity, id)).data, ...changed } : changed;
    await check(store, entity, changed, data);
    return {};
  } catch (failure) {
    if (failure instanceof FieldErrors) return failure.fields;
    throw failure;
  }
}

/**
 * @param {Store} store
 * @param {string} name
 * @returns {Entity}
 */
function entityOf(store, name) {
  const entity = store.entity(name);
  if (!entity) throw new FieldErrors({ "": `This phone knows no ${name}: sync first.` });
  return entity;
}

/**
 * @param {Store} store
 * @param {Entity} entity
 * @param {string} id
 * @returns {Promise<Row & {data: Values}>}
 */
async function liveRow(store, entity, id) {
  const row = await store.getRecord(entity.name, id);
  if (!row || row.data === null) {
    throw new FieldErrors({ "": `This ${entity.label.toLowerCase()} is no longer on this phone.` });
  }
  return /** @type {Row & {data: Values}} */ (row);
}

/**
 * @param {Store} store
 * @param {IDBTransaction} tx
 */
async function nextSeq(store, tx) {
  const seq = ((await request(tx.objectStore("meta").get("seq"))) ?? 0) + 1;
  await store.putMeta(tx, "seq", seq);
  return seq;
}

/**
 * Values as the server stores them: empty text is no value (null); text is trimmed of
 * nothing (what the user typed is kept).
 * @param {Entity} entity
 * @param {Values} values
 * @returns {Values}
 */
function normalize(entity, values) {
  /** @type {Values} */
  const normal = {};
  const types = new Map(entity.fields.map((f) => [f.name, f.type]));
  for (const [name, value] of Object.entries(values)) {
    const type = types.get(name);
    normal[name] = value === "" && type !== "string" && type !== "text" ? null : value;
  }
  return normal;
}

/**
 * Check the changed values and the record they make, as the server will.
 * @param {Store} store
 * @param {Entity} entity
 * @param {Values} changed
 * @param {Values} data the whole record after the change
 */
async function check(store, entity, changed, data) {
  /** @type {Record<string, string>} */
  const errors = {};
  const fields = new Map(entity.fields.map((f) => [f.name, f]));
  for (const [name, value] of Object.entries(changed)) {
    const field = fields.get(name);
    const problem = field ? problemOf(field, value) : "This field is not in the project.";
    if (problem) errors[name] = problem;
  }
  for (const field of entity.fields) {
    const value = data[field.name];
    if (field.required && (value === null || value === undefined || value === "")) {
      errors[field.name] ??= `${field.label} is required.`;
    }
  }
  for (const field of entity.fields) {
    const target = changed[field.name];
    if (field.type !== "lookup" || errors[field.name] || !target || !field.target) continue;
    const parent = await store.getRecord(field.target, target);
    if (!parent || parent.data === null) errors[field.name] = `No such ${field.target} on this phone.`;
  }
  if (Object.keys(errors).length) throw new FieldErrors(errors);
}

/**
 * What is wrong with one value of a field, or null.
 * @param {import("./store.js").Field} field
 * @param {any} value
 * @returns {string | null}
 */
function problemOf(field, value) {
  if (value === null || value === undefined) return null;
  const kind = KINDS[field.type];
  if (kind && !kind.check(value)) return `${field.label} must be ${kind.says}.`;
  if (typeof value === "string" && field.max_length !== null && [...value].length > field.max_length) {
    return `${field.label} takes at most ${field.max_length} characters.`;
  }
  if (field.type === "picklist" && !(field.options ?? []).includes(value)) {
    return `${field.label} must be one of: ${(field.options ?? []).join(", ")}.`;
  }
  if (field.type === "integer" && (BigInt(value) > LARGEST_INTEGER || BigInt(value) < -LARGEST_INTEGER - 1n)) {
    return `${field.label} is too large.`;
  }
  return null;
}

/** @param {any} v */
const isText = (v) => typeof v === "string";
/** @param {any} v */
const isInteger = (v) => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";

/** @type {Record<string, {check: (v: any) => boolean, says: string}>} */
const KINDS = {
  string: { check: isText, says: "text" },
  text: { check: isText, says: "text" },
  integer: { check: isInteger, says: "a whole number" },
  decimal: { check: (v) => (typeof v === "number" && Number.isFinite(v)) || typeof v === "bigint", says: "a number" },
  boolean: { check: (v) => typeof v === "boolean", says: "yes or no" },
  date: { check: (v) => isText(v) && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)), says: "a date" },
  datetime: { check: (v) => isText(v) && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v) && !Number.isNaN(Date.parse(v)), says: "a date and time" },
  picklist: { check: isText, says: "one of the options" },
  lookup: { check: (v) => isText(v) && UUID.test(v), says: "a record" },
};

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * Whether two records' values differ (a field missing on one side is null).
 * @param {Values} a
 * @param {Values} b
 */
export function differs(a, b) {
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!sameValue(a[name] ?? null, b[name] ?? null)) return true;
  }
  return false;
}

/**
 * @param {any} a
 * @param {any} b
 */
export function sameValue(a, b) {
  if (typeof a === "bigint" || typeof b === "bigint") {
    return (typeof a === "bigint" || typeof a === "number") &&
      (typeof b === "bigint" || typeof b === "number") && BigInt(a) === BigInt(b);
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return a === b;
}

/** A UUID v7: 48 bits of milliseconds, then random bits (RFC 9562). */
export function uuid7() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let now = Date.now();
  for (let i = 5; i >= 0; i--) {
    bytes[i] = now % 256;
    now = Math.floor(now / 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
