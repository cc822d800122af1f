// The sync engine: a short coordinator of named phases, as the Python device runs them:
//   conflict status → push outbox (+ results) → pull pages → project → log
// It knows nothing of screens: they call `sync()`, read `status()` and listen to
// `progress` and `done`. A 401 sets `auth_needed` and stops (the outbox and data stay);
// a transport failure (no network, a captive portal, a cut answer) refuses nothing and
// is tried again later, waiting longer each time.

import { changePendingRevokes, findStore, lastSession, openStore, pendingRevokes, rememberSession } from "./store.js";
import { AuthNeeded, Refusal, TransportError, Wire } from "./wire.js";
import { pull } from "./pull.js";

export { startAutoSync } from "./triggers.js";

/** @typedef {import("./store.js").Store} Store */
/** @typedef {import("./pull.js").Download} Download */
/**
 * @typedef {{ok: boolean, error?: string, message?: string, pushed: number,
 *   received: number, conflicts: number, refused: number, at: string}} SyncResult
 * @typedef {{phase: string, received: number, total: number | null, bytes: number,
 *   per_entity: Record<string, number>}} Progress
 * @typedef {{pushOutbox?: (store: Store, wire: Wire) => Promise<any>,
 *   applyConflictStatus?: (store: Store, statuses: any[]) => Promise<any>}} PushModule
 * @typedef {{layOver?: import("./pull.js").LayOver}} RebaseModule
 */

const RETRY_FIRST_MS = 2_000;
const RETRY_LAST_MS = 5 * 60_000;

/**
 * A module of this app that may not exist yet (push.js and rebase.js come later): {} then.
 * @param {string} name
 */
function optional(name) {
  return import(new URL(name, import.meta.url).href).catch(() => ({}));
}
const pushModule = /** @type {Promise<PushModule>} */ (optional("./push.js"));
const rebaseModule = /** @type {Promise<RebaseModule>} */ (optional("./rebase.js"));

/** @type {SyncEngine | null} */
let active = null;

/** The engine of the session the app runs, if any. */
export function activeEngine() {
  return active;
}

export class SyncEngine {
  /**
   * @param {Store} store
   * @param {{origin?: string}} [options] the server (default: this page's origin)
   */
  constructor(store, options = {}) {
    this.store = store;
    this.origin = options.origin ?? location.origin;
    /** @type {Promise<SyncResult> | null} */
    this.running = null;
    this.phase = "idle";
    this.failures = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retry = null;
    this.retrying = false; // whether a transport failure schedules another try
    /** @type {number | null} when the last sync finished (ms) */
    this.lastFinished = null;
    /** @type {(() => void) | null} stops the automatic syncs (startAutoSync) */
    this.stopAuto = null;
    /** @type {Map<string, Set<(value: any) => void>>} */
    this.listeners = new Map();
    replaceEngine(this);
  }

  /**
   * Listen to `progress` (Progress) or `done` (SyncResult).
   * @param {"progress" | "done"} event
   * @param {(value: any) => void} fn
   * @returns {() => void} unsubscribe
   */
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)?.add(fn);
    return () => this.listeners.get(event)?.delete(fn);
  }

  /**
   * @param {string} event
   * @param {any} value
   */
  emit(event, value) {
    for (const fn of this.listeners.get(event) ?? []) fn(value);
  }

  /** Stop syncing by itself (a sync running goes on to its end). */
  stop() {
    this.stopAuto?.();
    this.stopAuto = null;
    this.retrying = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  /** Where the engine stands: `{running, phase, online}`; the rest is in the store's meta. */
  status() {
    return { running: this.running !== null, phase: this.phase, online: navigator.onLine };
  }

  /**
   * One sync; a sync asked for while one runs gets that one's result.
   * @returns {Promise<SyncResult>}
   */
  sync() {
    this.running ??= this.run().finally(() => {
      this.running = null;
      this.phase = "idle";
    });
    return this.running;
  }

  /** @returns {Promise<SyncResult>} */
  async run() {
    const store = this.store;
    const counts = { pushed: 0, received: 0, conflicts: 0, refused: 0 };
    if (await store.getMeta("auth_needed")) {
      return this.finish({ ok: false, error: "auth_needed", ...counts });
    }
    const wire = new Wire(this.origin, await store.getMeta("token"));
    try {
      await this.phases(wire, counts);
    } catch (error) {
      return this.failed(error, counts);
    }
    this.failures = 0;
    await store.setMeta("last_sync", new Date().toISOString());
    return this.finish({ ok: true, ...counts });
  }

  /**
   * @param {Wire} wire
   * @param {{pushed: number, received: number, conflicts: number, refused: number}} counts
   */
  async phases(wire, counts) {
    const store = this.store;
    const push = await pushModule;
    if (!store.project()) await this.refreshProject(wire);
    this.phase = "conflicts";
    await this.conflictStatus(wire, push);
    if (push.pushOutbox) {
      this.phase = "push";
      this.progress({ received: 0, total: null, bytes: 0, per_entity: {} });
      Object.assign(counts, pick(await push.pushOutbox(store, wire)));
    }
    this.phase = "pull";
    const layOver = (await rebaseModule).layOver ?? null;
    const pulled = await pull(store, wire, { layOver, onProgress: (d) => this.progress(d) });
    counts.received = pulled.received;
    if (pulled.projectVersion !== null && pulled.projectVersion !== store.project()?.version) {
      await this.refreshProject(wire);
    }
    counts.conflicts = (await store.openConflicts()).length;
    counts.refused = (await store.refusedRecords()).length;
  }

  /**
   * Ask where this device's conflicts stand (an office may have resolved them).
   * @param {Wire} wire
   * @param {PushModule} push
   */
  async conflictStatus(wire, push) {
    const ids = (await this.store.allConflicts()).map((c) => c.id);
    if (!ids.length || !push.applyConflictStatus) return;
    const statuses = await wire.conflicts(await this.store.getMeta("device_id"), ids);
    await push.applyConflictStatus(this.store, statuses);
  }

  /**
   * Download the project and re-key every record by it (titles, order, search).
   * @param {Wire} wire
   */
  async refreshProject(wire) {
    this.phase = "project";
    const project = await wire.project();
    await this.store.setMeta("project", project);
    await this.store.redecorate();
  }

  /**
   * Tell the listeners where the download stands, as a copy: pull.js goes on counting
   * the next page in `download` while a screen still draws this one.
   * @param {Download} download
   */
  progress(download) {
    const counts = { per_entity: { ...download.per_entity }, totals: { ...download.totals } };
    this.emit("progress", { phase: this.phase, ...download, ...counts });
  }

  /**
   * @param {unknown} error
   * @param {{pushed: number, received: number, conflicts: number, refused: number}} counts
   */
  async failed(error, counts) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof AuthNeeded) {
      await this.store.setMeta("auth_needed", true);
      return this.finish({ ok: false, error: "auth_needed", message, ...counts });
    }
    if (error instanceof TransportError) {
      this.scheduleRetry();
      return this.finish({ ok: false, error: "offline", message, ...counts });
    }
    const code = /** @type {any} */ (error)?.code ?? "failed";
    return this.finish({ ok: false, error: code, message, ...counts });
  }

  /** Try again after a transport failure, waiting twice as long each time (to 5 min). */
  scheduleRetry() {
    if (!this.retrying || this.retry) return;
    const wait = Math.min(RETRY_LAST_MS, RETRY_FIRST_MS * 2 ** this.failures);
    this.failures += 1;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.sync();
    }, wait * (0.75 + Math.random() / 2));
  }

  /**
   * @param {Omit<SyncResult, "at">} result
   * @returns {Promise<SyncResult>}
   */
  async finish(result) {
    const done = { ...result, at: new Date().toISOString() };
    this.lastFinished = Date.now();
    await this.store.setMeta("last_result", done);
    await this.store.log("sync", done);
    await this.store.trimLog();
    this.store.notify("meta"); // the result and the log: no record changed here
    this.emit("done", done);
    this.store.prepareSearch();
    return done;
  }
}

/**
 * The counts a phase returned, whatever else it returned.
 * @param {any} answer
 */
function pick(answer) {
  /** @type {Record<string, number>} */
  const counts = {};
  for (const key of ["pushed", "conflicts", "refused"]) {
    if (typeof answer?.[key] === "number") counts[key] = answer[key];
  }
  return counts;
}

// --- sessions -------------------------------------------------------------------------

/**
 * Sign in; the store of that user (made the first time), with the engine of the session.
 * A user keeps one device id per phone, the one their local database holds: logging out
 * and in again registers no new device.
 * @param {string} origin
 * @param {string} username as typed
 * @param {string} password
 * @returns {Promise<Store>}
 */
export async function login(origin, username, password) {
  let store = await findStore(username);
  const wire = new Wire(origin);
  const deviceId = store ? await store.getMeta("device_id") : crypto.randomUUID();
  let answer = await wire.login(username, password, deviceId);
  if (!store || store.username !== answer.user.username) {
    store?.close();
    store = await openStore(answer.user.username, { deviceId });
    const held = await store.getMeta("device_id");
    if (held !== deviceId) {
      // The server named the user otherwise than typed, and that user's database is here
      // with its own device id: revoke the token of the id tried, log in as that device.
      await revoke(origin, answer.token);
      answer = await wire.login(username, password, held);
    }
  }
  await store.setMeta("token", answer.token);
  await store.setMeta("user", answer.user);
  await store.setMeta("auth_needed", false);
  await rememberSession({ username: answer.user.username, server_username: username });
  replaceEngine(new SyncEngine(store, { origin }));
  return store;
}

/**
 * Open the last session's store (offline too); null when nobody signed in on this phone.
 * @param {string} [origin]
 * @returns {Promise<Store | null>}
 */
export async function resumeSession(origin) {
  const session = await lastSession();
  if (!session) return null;
  const store = await openStore(session.username);
  replaceEngine(new SyncEngine(store, { origin }));
  return store;
}

/**
 * Make `engine` the session's, stopping the one before (and closing its store when it
 * was another user's).
 * @param {SyncEngine} engine
 */
function replaceEngine(engine) {
  const before = active;
  active = engine;
  if (!before || before === engine) return;
  before.stop();
  if (before.store.username !== engine.store.username) before.store.close();
}

/**
 * Sign out: the token is forgotten and revoked; the data and unsynced changes stay. With
 * no network the token waits in the phone's list of tokens to revoke (`revokePending`).
 */
export async function logout() {
  const engine = active;
  if (!engine) return;
  engine.stop();
  active = null;
  const token = await engine.store.getMeta("token");
  await engine.store.setMeta("token", null);
  await rememberSession(null);
  engine.store.close();
  if (token) await revoke(engine.origin, token);
}

/**
 * Revoke a token now, or keep it to revoke when the server answers again.
 * @param {string} origin
 * @param {string} token
 */
async function revoke(origin, token) {
  await changePendingRevokes((tokens) => [...tokens, { origin, token }]);
  await revokePending();
}

/**
 * Revoke every token a logout left for later; one the server cannot be reached for stays.
 * The app calls this when it opens and when the phone comes back online.
 */
export async function revokePending() {
  for (const { origin, token } of await pendingRevokes()) {
    try {
      await new Wire(origin, token).logout();
    } catch (error) {
      if (error instanceof TransportError) continue;
      if (!(error instanceof Refusal)) throw error;
    }
    await changePendingRevokes((tokens) => tokens.filter((t) => t.token !== token));
  }
}
