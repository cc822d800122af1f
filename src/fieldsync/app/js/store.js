// The local database: IndexedDB, one database per user (`fieldsync-<username>`), and a
// tiny `fieldsync` database that remembers the last session so the app opens offline.
// Every read and write of local data goes through here; a record row keeps, beside its
// values, the keys the screens list and search by (title, sort, search, refs), which
// this module computes from the project whenever a row is written.

const SCHEMA_VERSION = 1;
const SESSION_DB = "fieldsync";
const NOTICE_DAYS = 7;
const LOG_KEEP = 2000;

/**
 * @typedef {{name: string, type: string, label: string, required: boolean,
 *   max_length: number | null, options: string[] | null, target: string | null}} Field
 * @typedef {{name: string, label: string, on_conflict: string, conflict_detection: string,
 *   sync_filter: string, fields: Field[]}} Entity
 * @typedef {{version: number, entities: Entity[]}} Project
 * @typedef {Record<string, any>} Values
 * @typedef {{code: string, message: string, field?: string, details?: any}} RowError
 * @typedef {{entity: string, id: string, base_version: number | null, base: Values | null,
 *   data: Values | null, state: "synced" | "created" | "updated" | "deleted", rev: number,
 *   seq: number, error: RowError | null, conflict_id: string | null,
 *   server_version?: number | null, server_data?: Values | null, server_deleted?: boolean,
 *   title?: string, sort?: string, search?: string, refs?: string[], pending?: 1}} Row
 * @typedef {{what: "records" | "conflicts" | "meta" | "sync"}} Change
 * @typedef {(change: Change) => void} Listener
 */

/**
 * The promise of an IndexedDB request's result.
 * @template T
 * @param {IDBRequest<T>} request
 * @returns {Promise<T>}
 */
export function request(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Open (or create) a database.
 * @param {string} name
 * @param {(db: IDBDatabase) => void} upgrade
 * @returns {Promise<IDBDatabase>}
 */
function openDatabase(name, upgrade) {
  const opening = indexedDB.open(name, SCHEMA_VERSION);
  opening.onupgradeneeded = () => upgrade(opening.result);
  return request(opening);
}

/** @param {IDBDatabase} db */
function createSchema(db) {
  db.createObjectStore("meta");
  const records = db.createObjectStore("records", { keyPath: ["entity", "id"] });
  records.createIndex("by_list", ["entity", "sort"]);
  records.createIndex("by_refs", "refs", { multiEntry: true });
  records.createIndex("by_pending", "pending");
  db.createObjectStore("conflicts", { keyPath: "id" });
  db.createObjectStore("outbox", { keyPath: "batch_id" });
  db.createObjectStore("notices", { keyPath: "id" });
  db.createObjectStore("log", { autoIncrement: true });
}

/** @returns {Promise<IDBDatabase>} */
function openSessions() {
  return openDatabase(SESSION_DB, (db) => db.createObjectStore("session"));
}

/**
 * The last session on this phone: who used the app last, and the username as it was typed.
 * @returns {Promise<{username: string, server_username: string} | null>}
 */
export async function lastSession() {
  const db = await openSessions();
  try {
    const tx = db.transaction("session", "readonly");
    return (await request(tx.objectStore("session").get("last"))) ?? null;
  } finally {
    db.close();
  }
}

/**
 * Remember the session (after a login), or forget it (`null`, after a logout).
 * @param {{username: string, server_username: string} | null} session
 */
export async function rememberSession(session) {
  const db = await openSessions();
  try {
    const tx = db.transaction("session", "readwrite");
    const sessions = tx.objectStore("session");
    if (session) await request(sessions.put(session, "last"));
    else await request(sessions.delete("last"));
  } finally {
    db.close();
  }
}

/**
 * The tokens of logouts that could not reach the server yet (kept apart from any session,
 * so a later login does not forget them).
 * @returns {Promise<{origin: string, token: string}[]>}
 */
export async function pendingRevokes() {
  const db = await openSessions();
  try {
    const tx = db.transaction("session", "readonly");
    return (await request(tx.objectStore("session").get("revoke"))) ?? [];
  } finally {
    db.close();
  }
}

/**
 * Change the list of tokens waiting to be revoked, in one transaction (tabs may race).
 * @param {(tokens: {origin: string, token: string}[]) => {origin: string, token: string}[]} change
 */
export async function changePendingRevokes(change) {
  const db = await openSessions();
  try {
    const tx = db.transaction("session", "readwrite");
    const sessions = tx.objectStore("session");
    const tokens = (await request(sessions.get("revoke"))) ?? [];
    await request(sessions.put(change(tokens), "revoke"));
  } finally {
    db.close();
  }
}

/**
 * The local database a user already has on this phone; null when they never logged in here.
 * @param {string} username as the server knows it (a login's name is matched exactly)
 * @returns {Promise<Store | null>}
 */
export async function findStore(username) {
  const name = `fieldsync-${username}`;
  const found = (await indexedDB.databases()).some((d) => d.name === name);
  return found ? openStore(username) : null;
}

/**
 * Open the user's local database, creating it (with a new device id) the first time.
 * @param {string} username as the server returned it at login
 * @param {{deviceId?: string}} [options] the device id a new database takes
 * @returns {Promise<Store>}
 */
export async function openStore(username, options = {}) {
  const db = await openDatabase(`fieldsync-${username}`, createSchema);
  const store = new Store(db, username);
  await store.load(options.deviceId);
  return store;
}

export class Store {
  /**
   * @param {IDBDatabase} db
   * @param {string} username
   */
  constructor(db, username) {
    this.db = db;
    this.username = username;
    /** @type {Project | null} */
    this.cachedProject = null;
    /** @type {Map<string, Entity>} */
    this.entities = new Map();
    /** @type {Set<Listener>} */
    this.listeners = new Set();
    /** @type {Map<string, Promise<{id: string, search: string}[]>>} search entries per entity */
    this.searchCache = new Map();
    /** @type {Set<string>} the entities whose search entries are read */
    this.searchReady = new Set();
    // Other tabs of the same user hear of every write too.
    this.channel = new BroadcastChannel(`fieldsync-${username}`);
    this.channel.onmessage = (event) => this.tell(event.data, false);
  }

  /**
   * Read the project and make the device id (once per user database).
   * @param {string} [deviceId]
   */
  async load(deviceId) {
    this.useProject(await this.getMeta("project"));
    if (!(await this.getMeta("device_id"))) {
      await this.setMeta("device_id", deviceId ?? crypto.randomUUID());
    }
    if ((await this.getMeta("cursor")) === undefined) await this.setMeta("cursor", "");
  }

  close() {
    this.channel.close();
    this.db.close();
  }

  /**
   * Run `fn` in one transaction; resolves with its result once the transaction commits.
   * `fn` may await only requests of this transaction (IndexedDB commits a transaction as
   * soon as it has nothing left to do).
   * @template T
   * @param {string | string[]} storeNames
   * @param {IDBTransactionMode} mode
   * @param {(tx: IDBTransaction) => T | Promise<T>} fn
   * @param {{durability?: IDBTransactionDurability}} [options] `strict` unless told:
   *   the pull's pages, which the server can send again, may be `relaxed`
   * @returns {Promise<T>}
   */
  async transaction(storeNames, mode, fn, options = {}) {
    const durability = options.durability ?? "strict";
    const tx = this.db.transaction(storeNames, mode, { durability });
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
    });
    /** @type {T} */
    let result;
    try {
      result = await fn(tx);
    } catch (error) {
      if (!tx.error) tx.abort();
      await done.catch(() => {});
      throw error;
    }
    await done;
    return result;
  }

  // --- meta ---------------------------------------------------------------------

  /** @param {string} key */
  async getMeta(key) {
    return this.transaction("meta", "readonly", (tx) =>
      request(tx.objectStore("meta").get(key)),
    );
  }

  /**
   * @param {string} key
   * @param {any} value
   */
  async setMeta(key, value) {
    await this.transaction("meta", "readwrite", (tx) => this.putMeta(tx, key, value));
    this.notify(key === "project" ? "records" : "meta");
  }

  /**
   * Write a meta value inside the caller's transaction (which must include `meta`).
   * @param {IDBTransaction} tx
   * @param {string} key
   * @param {any} value
   */
  putMeta(tx, key, value) {
    if (key === "project") this.useProject(value);
    return request(tx.objectStore("meta").put(value, key));
  }

  /** @param {Project | null | undefined} project */
  useProject(project) {
    this.cachedProject = project ?? null;
    this.entities = new Map((project?.entities ?? []).map((e) => [e.name, e]));
  }

  /** @returns {Project | null} */
  project() {
    return this.cachedProject;
  }

  /**
   * @param {string} name
   * @returns {Entity | null}
   */
  entity(name) {
    return this.entities.get(name) ?? null;
  }

  // --- records ------------------------------------------------------------------

  /**
   * A row with the keys lists and searches use, computed from its values.
   * @param {Row} row
   * @returns {Row}
   */
  decorate(row) {
    const entity = this.entity(row.entity);
    const values = row.data ?? row.base ?? row.server_data ?? {};
    row.title = titleOf(entity, values, row.id);
    row.sort = sortKeyOf(entity, values, row.title ?? "");
    row.search = searchTextOf(entity, values);
    row.refs = refsOf(entity, values);
    if (row.state === "synced") delete row.pending;
    else row.pending = 1;
    return row;
  }

  /**
   * Write a row inside the caller's transaction (which must include `records`).
   * @param {IDBTransaction} tx
   * @param {Row} row
   */
  putRow(tx, row) {
    return tx.objectStore("records").put(this.decorate(row));
  }

  /** Compute every row's keys again (the project changed: titles, order, search). */
  async redecorate() {
    await this.transaction("records", "readwrite", (tx) => {
      const cursorRequest = tx.objectStore("records").openCursor();
      return new Promise((resolve, reject) => {
        cursorRequest.onerror = () => reject(cursorRequest.error);
        cursorRequest.onsuccess = () => {
          const cursor = cursorRequest.result;
          if (!cursor) return resolve(null);
          cursor.update(this.decorate(cursor.value));
          cursor.continue();
        };
      });
    });
    this.notify("records");
  }

  /**
   * @param {string} entity
   * @param {string} id
   * @returns {Promise<Row | null>}
   */
  async getRecord(entity, id) {
    const row = await this.transaction("records", "readonly", (tx) =>
      request(tx.objectStore("records").get([entity, id])),
    );
    return row ?? null;
  }

  /**
   * One page of an entity's list, in its order, without the records deleted here.
   * Appointments (entities ordered by a start) list upcoming ones first, soonest first,
   * then past ones, latest first; the others list by title.
   * @param {string} entity
   * @param {{search?: string, limit?: number, after?: string}} [options]
   *   `after`: the `next` of the page before
   * @returns {Promise<{rows: Row[], more: boolean, next: string | null}>}
   */
  async listRecords(entity, options = {}) {
    const limit = options.limit ?? 50;
    const needle = (options.search ?? "").trim().toLowerCase();
    const position = options.after ? JSON.parse(options.after) : null;
    if (needle && (this.searchReady.has(entity) || position?.index !== undefined)) {
      return this.searchRecords(entity, needle, limit, position?.index ?? 0);
    }
    // The first search reads the list until its page is full, while the search entries
    // are read for the searches after it.
    if (needle) void this.searchEntries(entity);
    const keep = (/** @type {Row} */ row) =>
      row.data !== null && (!needle || (row.search ?? "").includes(needle));
    const segments = listSegments(entity, this.startField(entity) !== null);
    /** @type {Row[]} */
    const rows = [];
    let next = null;
    for (let i = position?.segment ?? 0; i < segments.length && !next; i++) {
      const from = position?.segment === i ? position : null;
      const found = await this.scan(segments[i], from, limit - rows.length + 1, keep);
      rows.push(...found);
      if (rows.length > limit) {
        rows.length = limit;
        const last = rows[limit - 1];
        next = JSON.stringify({ segment: i, sort: last.sort, id: last.id });
      }
    }
    return { rows, more: next !== null, next };
  }

  /**
   * One page of the records whose text holds `needle`, in list order, from the entity's
   * search entries (read once, then kept in memory until the next write).
   * @param {string} entity
   * @param {string} needle lower case
   * @param {number} limit
   * @param {number} from the entry to start at
   * @returns {Promise<{rows: Row[], more: boolean, next: string | null}>}
   */
  async searchRecords(entity, needle, limit, from) {
    const entries = await this.searchEntries(entity);
    /** @type {string[]} */
    const ids = [];
    let index = from;
    for (; index < entries.length && ids.length < limit; index++) {
      if (entries[index].search.includes(needle)) ids.push(entries[index].id);
    }
    let more = false;
    for (let rest = index; rest < entries.length && !more; rest++) {
      more = entries[rest].search.includes(needle);
    }
    const rows = await this.transaction("records", "readonly", (tx) => {
      const records = tx.objectStore("records");
      return Promise.all(ids.map((id) => request(records.get([entity, id]))));
    });
    const next = more ? JSON.stringify({ index }) : null;
    return { rows: rows.filter((row) => row && row.data !== null), more, next };
  }

  /**
   * The entity's records as search entries ({id, search}), in list order.
   * @param {string} entity
   * @returns {Promise<{id: string, search: string}[]>}
   */
  searchEntries(entity) {
    let entries = this.searchCache.get(entity);
    if (!entries) {
      const reading = this.readSearchEntries(entity);
      entries = reading;
      this.searchCache.set(entity, reading);
      reading.then(
        () => {
          if (this.searchCache.get(entity) === reading) this.searchReady.add(entity);
        },
        () => {
          if (this.searchCache.get(entity) === reading) this.searchCache.delete(entity);
        },
      );
    }
    return entries;
  }

  /**
   * Read every entity's search entries ahead, one entity after another, when the browser
   * is idle: the first search a person types then finds them in memory too. A write
   * forgets them; the engine asks again at the end of each sync.
   */
  prepareSearch() {
    const entities = (this.project()?.entities ?? []).map((e) => e.name);
    const read = async () => {
      for (const entity of entities) await this.searchEntries(entity);
    };
    // A store closed meanwhile (a sign-out) reads nothing: the search reads it again.
    const start = () => void read().catch(() => undefined);
    if ("requestIdleCallback" in globalThis) requestIdleCallback(start, { timeout: 1_000 });
    else setTimeout(start, 0);
  }

  /** @param {string} entity */
  async readSearchEntries(entity) {
    const range = IDBKeyRange.bound([entity, ""], [entity, "\uffff"]);
    // A cursor, not one getAll: one answer of every record at once is far slower.
    /** @type {{id: string, sort: string, search: string}[]} */
    const entries = await this.transaction("records", "readonly", (tx) => {
      const cursorRequest = tx.objectStore("records").index("by_list").openCursor(range);
      /** @type {{id: string, sort: string, search: string}[]} */
      const found = [];
      return new Promise((resolve, reject) => {
        cursorRequest.onerror = () => reject(cursorRequest.error);
        cursorRequest.onsuccess = () => {
          const cursor = cursorRequest.result;
          if (!cursor) return resolve(found);
          const row = /** @type {Row} */ (cursor.value);
          if (row.data !== null) found.push({ id: row.id, sort: row.sort ?? "", search: row.search ?? "" });
          cursor.continue();
        };
      });
    });
    if (this.startField(entity) === null) return entries;
    const now = new Date().toISOString();
    const upcoming = entries.filter((e) => e.sort >= now);
    return [...upcoming, ...entries.filter((e) => e.sort < now).reverse()];
  }

  /**
   * Up to `count` rows of one list segment that `keep` accepts, after `from`.
   * @param {{range: IDBKeyRange, direction: IDBCursorDirection}} segment
   * @param {{sort: string, id: string} | null} from
   * @param {number} count
   * @param {(row: Row) => boolean} keep
   * @returns {Promise<Row[]>}
   */
  scan(segment, from, count, keep) {
    return this.transaction("records", "readonly", (tx) => {
      const index = tx.objectStore("records").index("by_list");
      const cursorRequest = index.openCursor(segment.range, segment.direction);
      /** @type {Row[]} */
      const rows = [];
      let skipped = from === null;
      return new Promise((resolve, reject) => {
        cursorRequest.onerror = () => reject(cursorRequest.error);
        cursorRequest.onsuccess = () => {
          const cursor = cursorRequest.result;
          if (!cursor) return resolve(rows);
          const row = /** @type {Row} */ (cursor.value);
          if (!skipped && from) {
            skipped = true;
            const target = [row.entity, from.sort];
            const targetKey = [row.entity, from.id];
            if (ahead(target, targetKey, cursor, segment.direction)) {
              return cursor.continuePrimaryKey(target, targetKey);
            }
          }
          if (from && row.id === from.id && row.sort === from.sort) return cursor.continue();
          if (keep(row)) rows.push(row);
          if (rows.length >= count) return resolve(rows);
          cursor.continue();
        };
      });
    });
  }

  /**
   * The entity's datetime field that orders its list (a field named `start`), if any.
   * @param {string} entity
   */
  startField(entity) {
    return startFieldOf(this.entity(entity));
  }

  /**
   * How many records of the entity the phone holds (not counting those deleted here).
   * @param {string} entity
   */
  async countRecords(entity) {
    const range = IDBKeyRange.bound([entity, ""], [entity, "\uffff"]);
    return this.transaction("records", "readonly", async (tx) => {
      const index = tx.objectStore("records").index("by_list");
      const all = await request(index.count(range));
      const pending = await request(tx.objectStore("records").index("by_pending").getAll(1));
      return all - pending.filter((r) => r.entity === entity && r.data === null).length;
    });
  }

  /**
   * The records whose lookups point at this one, per entity and field.
   * @param {string} entity
   * @param {string} id
   * @returns {Promise<{entity: string, field: string, rows: Row[]}[]>}
   */
  async related(entity, id) {
    /** @type {Row[]} */
    const found = await this.transaction("records", "readonly", (tx) =>
      request(tx.objectStore("records").index("by_refs").getAll(`${entity}:${id}`)),
    );
    /** @type {Map<string, {entity: string, field: string, rows: Row[]}>} */
    const groups = new Map();
    for (const row of found) {
      if (row.data === null) continue;
      for (const field of this.entity(row.entity)?.fields ?? []) {
        if (field.type !== "lookup" || field.target !== entity || row.data[field.name] !== id)
          continue;
        const key = `${row.entity}.${field.name}`;
        if (!groups.has(key)) groups.set(key, { entity: row.entity, field: field.name, rows: [] });
        groups.get(key)?.rows.push(row);
      }
    }
    for (const group of groups.values()) group.rows.sort(byListOrder);
    return [...groups.values()];
  }

  /** How many records hold changes not yet synced. */
  async pendingCount() {
    return this.transaction("records", "readonly", (tx) =>
      request(tx.objectStore("records").index("by_pending").count()),
    );
  }

  /** @returns {Promise<Row[]>} the rows with changes not yet synced, oldest edit first */
  async pendingRecords() {
    /** @type {Row[]} */
    const rows = await this.transaction("records", "readonly", (tx) =>
      request(tx.objectStore("records").index("by_pending").getAll(1)),
    );
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /**
   * @returns {Promise<number>} the changes still to be sent: pending, neither refused
   * nor in a conflict that waits for the user's decision (those were sent already)
   */
  async unsentCount() {
    const [rows, open] = await Promise.all([this.pendingRecords(), this.openConflicts()]);
    const undecided = new Set(open.map((c) => c.id));
    return rows.filter((r) => r.error === null && !undecided.has(r.conflict_id)).length;
  }

  /** @returns {Promise<Row[]>} the records whose last push the server refused */
  async refusedRecords() {
    return (await this.pendingRecords()).filter((row) => row.error !== null);
  }

  // --- conflicts, notices, log ------------------------------------------------------

  /** @returns {Promise<any[]>} every conflict on this phone */
  async allConflicts() {
    return this.transaction("conflicts", "readonly", (tx) =>
      request(tx.objectStore("conflicts").getAll()),
    );
  }

  /** @returns {Promise<any[]>} the conflicts still waiting for the user's decision */
  async openConflicts() {
    return (await this.allConflicts()).filter((c) => c.choice === null);
  }

  /** @returns {Promise<any[]>} the notices of the last days, newest first */
  async notices() {
    const since = new Date(Date.now() - NOTICE_DAYS * 86400_000).toISOString();
    /** @type {any[]} */
    const all = await this.transaction("notices", "readonly", (tx) =>
      request(tx.objectStore("notices").getAll()),
    );
    return all.filter((n) => n.at >= since).sort((a, b) => (a.at < b.at ? 1 : -1));
  }

  /**
   * Add an entry to the sync log (in the caller's transaction, or in its own).
   * @param {string} event
   * @param {any} details
   * @param {IDBTransaction} [tx]
   */
  async log(event, details, tx) {
    const entry = { at: new Date().toISOString(), event, details };
    if (tx) return request(tx.objectStore("log").add(entry));
    return this.transaction("log", "readwrite", (own) => request(own.objectStore("log").add(entry)));
  }

  /** @param {number} [count] @returns {Promise<any[]>} the newest log entries, newest first */
  async recentLog(count = 100) {
    return this.transaction("log", "readonly", (tx) => {
      /** @type {any[]} */
      const entries = [];
      const cursorRequest = tx.objectStore("log").openCursor(null, "prev");
      return new Promise((resolve, reject) => {
        cursorRequest.onerror = () => reject(cursorRequest.error);
        cursorRequest.onsuccess = () => {
          const cursor = cursorRequest.result;
          if (!cursor || entries.length >= count) return resolve(entries);
          entries.push(cursor.value);
          cursor.continue();
        };
      });
    });
  }

  /** Drop the oldest log entries past the last `LOG_KEEP`. */
  async trimLog() {
    await this.transaction("log", "readwrite", async (tx) => {
      const log = tx.objectStore("log");
      const keys = await request(log.getAllKeys());
      if (keys.length > LOG_KEEP) await request(log.delete(IDBKeyRange.upperBound(keys[keys.length - LOG_KEEP - 1])));
    });
  }

  // --- listeners ------------------------------------------------------------------

  /**
   * Call `listener` after every write (in this tab or another of the same user).
   * @param {Listener} listener
   * @returns {() => void} unsubscribe
   */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Tell the listeners (and the other tabs) what was written.
   * @param {Change["what"]} what
   */
  notify(what) {
    this.tell({ what }, true);
  }

  /**
   * @param {Change} change
   * @param {boolean} broadcast
   */
  tell(change, broadcast) {
    if (change.what !== "meta") {
      this.searchCache.clear();
      this.searchReady.clear();
    }
    if (broadcast) this.channel.postMessage(change);
    for (const listener of this.listeners) listener(change);
  }
}

// --- the keys of a row ----------------------------------------------------------------

/**
 * The record's display name: its string fields up to and with the first required one
 * ("Jane Smith" for a contact's firstname and lastname), else its first non-empty one.
 * @param {Entity | null} entity
 * @param {Values} values
 * @param {string} id
 */
function titleOf(entity, values, id) {
  const strings = (entity?.fields ?? []).filter((f) => f.type === "string");
  const named = titleFields(strings).map((f) => values[f.name]);
  const title = named.filter((v) => typeof v === "string" && v.trim()).join(" ");
  if (title) return title;
  const first = strings.map((f) => values[f.name]).find((v) => typeof v === "string" && v.trim());
  return first ?? id;
}

/**
 * The fields that make up a record's name: its string fields up to and with the first
 * required one.
 * @template {{type: string, required?: boolean}} F
 * @param {F[]} fields
 * @returns {F[]}
 */
export function titleFields(fields) {
  const strings = fields.filter((f) => f.type === "string");
  return strings.slice(0, strings.findIndex((f) => f.required) + 1);
}

/** @param {Entity | null} entity */
function startFieldOf(entity) {
  const field = (entity?.fields ?? []).find((f) => f.type === "datetime" && f.name === "start");
  return field?.name ?? null;
}

// Records without a start sort after every date ("~" follows the digits).
const NO_START = "~";

/**
 * The list order key: the start in UTC for appointments, else the title in lower case.
 * @param {Entity | null} entity
 * @param {Values} values
 * @param {string} title
 */
function sortKeyOf(entity, values, title) {
  const start = startFieldOf(entity);
  if (start === null) return title.toLowerCase();
  const when = Date.parse(values[start]);
  return Number.isNaN(when) ? NO_START : new Date(when).toISOString();
}

/**
 * @param {Entity | null} entity
 * @param {Values} values
 */
function searchTextOf(entity, values) {
  const searched = (entity?.fields ?? []).filter((f) => f.type === "string" || f.type === "picklist");
  return searched
    .map((f) => values[f.name])
    .filter((v) => typeof v === "string" && v)
    .join("\n")
    .toLowerCase();
}

/**
 * @param {Entity | null} entity
 * @param {Values} values
 */
function refsOf(entity, values) {
  return (entity?.fields ?? [])
    .filter((f) => f.type === "lookup" && typeof values[f.name] === "string" && values[f.name])
    .map((f) => `${f.target}:${values[f.name]}`);
}

/**
 * The index ranges of one entity's list, in the order they are shown.
 * @param {string} entity
 * @param {boolean} byStart
 * @returns {{range: IDBKeyRange, direction: IDBCursorDirection}[]}
 */
function listSegments(entity, byStart) {
  const all = IDBKeyRange.bound([entity, ""], [entity, "\uffff"]);
  if (!byStart) return [{ range: all, direction: "next" }];
  const now = new Date().toISOString();
  return [
    { range: IDBKeyRange.bound([entity, now], [entity, "\uffff"]), direction: "next" },
    { range: IDBKeyRange.bound([entity, ""], [entity, now], false, true), direction: "prev" },
  ];
}

/**
 * Whether an index position lies ahead of the cursor in its direction (a cursor may only
 * jump forward).
 * @param {any[]} key
 * @param {any[]} primaryKey
 * @param {IDBCursor} cursor
 * @param {IDBCursorDirection} direction
 */
function ahead(key, primaryKey, cursor, direction) {
  const order = indexedDB.cmp(key, cursor.key) || indexedDB.cmp(primaryKey, cursor.primaryKey);
  return direction === "prev" ? order < 0 : order > 0;
}

/**
 * @param {Row} a
 * @param {Row} b
 */
function byListOrder(a, b) {
  return (a.sort ?? "").localeCompare(b.sort ?? "");
}
