// The pull phase: page through the server's changes, each page written in one IndexedDB
// transaction together with its cursor, so a download cut midway resumes after the last
// page stored. The next page is asked for as soon as the answer's headers name its
// cursor, so the server reads it while this page is still downloading and being written.
//
// A record with unsynced local changes is never overwritten: the newest server state is
// kept beside it (`server_*`, laid over by rebase.js when present), and the next push
// meets the server's version. A 410 `resync_required` starts a full download that keeps
// local edits and, at its end, drops the synced records the server no longer sends.
//
// A first download asks for the first screen (`first=true`: the user's own records and
// those dated today or later) beside its first page, and stores it before that page:
// the lists draw it at once. The download brings those records again; at its end, the
// first-screen rows it did not write again (deleted, or gone from the scope, meanwhile)
// are dropped.

import { request } from "./store.js";
import { ResyncRequired } from "./wire.js";

/** @typedef {import("./store.js").Store} Store */
/** @typedef {import("./store.js").Row} Row */
/** @typedef {import("./wire.js").Wire} Wire */
/** @typedef {import("./wire.js").Page} Page */
/** @typedef {import("./wire.js").PageAnswer} PageAnswer */
/**
 * @typedef {{received: number, total: number | null, bytes: number,
 *   per_entity: Record<string, number>, totals?: Record<string, number>}} Download
 *   `total` and `totals` (per entity): what the whole download brings, as the server
 *   said on its first page (null from a server that does not say)
 * @typedef {(row: Row, server: {version: number, deleted: boolean,
 *   record: Record<string, any> | null}) => Row} LayOver
 */

// Pages from a server on this machine (no compression) and from any other: a round trip
// per page is what a network link charges most.
const LOOPBACK_PAGE = { limit: 2500, max_bytes: 2 * 1024 * 1024 };
const REMOTE_PAGE = { limit: 5000, max_bytes: 4 * 1024 * 1024 };

/**
 * Pull until the server has nothing more, starting over once as a full download on 410.
 * @param {Store} store
 * @param {Wire} wire
 * @param {{layOver: LayOver | null, onProgress: (d: Download) => void}} options
 * @returns {Promise<{received: number, projectVersion: number | null, resynced: boolean}>}
 */
export async function pull(store, wire, options) {
  /** @type {Promise<PageAnswer> | null} */
  let screen = null;
  if (await firstDownload(store)) {
    screen = askFirstScreen(store, wire);
    screen.catch(() => {}); // its error, if any, is met before the first page is written
  }
  try {
    return { ...(await pages(store, wire, options, screen)), resynced: false };
  } catch (error) {
    if (!(error instanceof ResyncRequired)) throw error;
    await startResync(store);
    return { ...(await pages(store, wire, options)), resynced: true };
  }
}

/**
 * Forget the cursor: the next pull downloads everything, marking what it receives.
 * @param {Store} store
 */
export async function startResync(store) {
  await store.transaction("meta", "readwrite", async (tx) => {
    const generation = ((await request(tx.objectStore("meta").get("resync_generation"))) ?? 0) + 1;
    await store.putMeta(tx, "resync_generation", generation);
    await store.putMeta(tx, "resync", true);
    await store.putMeta(tx, "cursor", "");
  });
}

/**
 * True before a first download: no cursor, no first screen stored, no full download.
 * @param {Store} store
 */
async function firstDownload(store) {
  const [cursor, screen, resync] = await Promise.all(
    ["cursor", "first_screen", "resync"].map((key) => store.getMeta(key)),
  );
  return !cursor && !screen && !resync;
}

// A screen's worth many times over; compressed, a fraction of a second at 2 Mbit/s.
const FIRST_SCREEN = { limit: 2000, max_bytes: 1024 * 1024 };

/**
 * Ask for the first screen (beside the download's first page).
 * @param {Store} store
 * @param {Wire} wire
 */
async function askFirstScreen(store, wire) {
  const device_id = await store.getMeta("device_id");
  return wire.pull({ ...FIRST_SCREEN, cursor: "", device_id, skip_own: false, first: localDay() });
}

/**
 * Store the first screen before the download's first page: new rows only (rows already
 * here stay as they are), each marked `first` until a page writes it again, their keys
 * in the meta `first_screen`.
 * @param {Store} store
 * @param {Page} page
 */
async function writeFirstScreen(store, page) {
  await store.transaction(["records", "meta"], "readwrite", async (tx) => {
    const records = tx.objectStore("records");
    const here = new Set((await request(records.getAllKeys())).map((key) => keyOf(/** @type {any} */ (key))));
    const added = page.changes.filter((c) => !c.deleted && !here.has(`${c.entity}\u0000${c.id}`));
    for (const change of added) store.putRow(tx, Object.assign(synced(change, null), { first: true }));
    store.putMeta(tx, "first_screen", added.map((c) => [c.entity, c.id]));
  });
  store.notify("sync");
}

/**
 * At the end of the download after a first screen: drop the first-screen rows no page
 * wrote again (deleted, or gone from the scope, meanwhile); edited ones stay.
 * @param {Store} store
 */
async function dropUnsent(store) {
  await store.transaction(["records", "meta"], "readwrite", async (tx) => {
    const records = tx.objectStore("records");
    const keys = /** @type {[string, string][]} */ (await request(tx.objectStore("meta").get("first_screen")));
    const rows = await Promise.all(keys.map((key) => request(records.get(key))));
    for (const row of rows) if (row?.first && row.state === "synced") records.delete([row.entity, row.id]);
    store.putMeta(tx, "first_screen", null);
  });
  store.notify("sync");
}

/** Today on this phone's calendar, as `YYYY-MM-DD`. */
function localDay() {
  const now = new Date();
  const two = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
}

/**
 * @param {Store} store
 * @param {Wire} wire
 * @param {{layOver: LayOver | null, onProgress: (d: Download) => void}} options
 * @param {Promise<PageAnswer> | null} [screen] the first screen, written before the first page
 */
async function pages(store, wire, options, screen = null) {
  const cursor = (await store.getMeta("cursor")) ?? "";
  const resync = Boolean(await store.getMeta("resync"));
  const generation = resync ? await store.getMeta("resync_generation") : null;
  const full = resync || cursor === "";
  // Its end drops the rows it did not bring (see `dropUnsent`, `finishResync`).
  const sweeping = resync || Boolean(await store.getMeta("first_screen"));
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(new URL(wire.origin).hostname);
  const query = {
    ...(loopback ? LOOPBACK_PAGE : REMOTE_PAGE),
    device_id: await store.getMeta("device_id"),
    // A full download, or one after a first screen, lists every record, this device's
    // own writes included: a first-screen record edited and pushed meanwhile comes again.
    skip_own: !(full || sweeping),
    count: full, // the first page says how many changes the download brings
  };
  /** @type {Download} */
  const download = (full && (await store.getMeta("download"))) || {
    received: 0, total: null, bytes: 0, per_entity: {},
  };
  const ask = (/** @type {string} */ at) => wire.pull({ ...query, cursor: at });
  let coming = ask(cursor);
  if (screen) await writeFirstScreen(store, await (await screen).page());
  let received = 0;
  /** @type {Page} */
  let page;
  for (;;) {
    const answer = await coming;
    // The next page is on its way while this one downloads and is written.
    const early = answer.more && answer.cursor ? ask(answer.cursor) : null;
    early?.catch(() => {}); // its error, if any, is met when it is its turn
    page = await answer.page();
    if (full) count(download, page, answer.bytes);
    await writePage(store, page, { layOver: options.layOver, generation, download: full ? download : null });
    received += page.changes.length;
    if (full) options.onProgress(download);
    if (!page.more) break;
    coming = early && answer.cursor === page.cursor ? early : ask(page.cursor);
  }
  if (resync) await finishResync(store, generation);
  if (await store.getMeta("first_screen")) await dropUnsent(store);
  if (full) await store.setMeta("download", null);
  return { received, projectVersion: page.project_version ?? null };
}

/**
 * Count the records a page brings; a deletion is no record on the phone.
 * @param {Download} download
 * @param {Page} page
 * @param {number} bytes
 */
function count(download, page, bytes) {
  if (download.total === null && typeof page.total === "number") {
    download.total = page.total;
    download.totals = page.totals ?? {};
  }
  download.bytes += bytes;
  for (const change of page.changes) {
    if (change.deleted) {
      // The server's total counts deletions too; the phone ends with one record fewer.
      if (download.total !== null) download.total -= 1;
      if (download.totals?.[change.entity]) download.totals[change.entity] -= 1;
      continue;
    }
    download.received += 1;
    download.per_entity[change.entity] = (download.per_entity[change.entity] ?? 0) + 1;
  }
}

/**
 * Write one page and its cursor in one transaction.
 * @param {Store} store
 * @param {Page} page
 * @param {{layOver: LayOver | null, generation: number | null, download: Download | null}} options
 */
async function writePage(store, page, options) {
  await store.transaction(["records", "meta"], "readwrite", async (tx) => {
    const records = tx.objectStore("records");
    // Nobody else writes inside this transaction: the unsynced records stay the same.
    const pendingKeys = await request(records.index("by_pending").getAllKeys(1));
    const pending = new Set(pendingKeys.map((key) => keyOf(/** @type {any} */ (key))));
    /** @type {Promise<any>[]} */
    const held = [];
    for (const change of latest(page.changes)) {
      const key = `${change.entity}\u0000${change.id}`;
      if (pending.has(key)) held.push(remember(store, tx, change, options.layOver));
      else if (change.deleted) records.delete([change.entity, change.id]);
      else store.putRow(tx, synced(change, options.generation));
    }
    await Promise.all(held);
    store.putMeta(tx, "cursor", page.cursor);
    if (options.download) store.putMeta(tx, "download", options.download);
  }, { durability: "relaxed" });
  // A page with no changes moved the cursor only: the records (and their search) stand.
  store.notify(page.changes.length ? "sync" : "meta");
}

/**
 * A page may hold a record twice (it left the scope, then came back): the last wins.
 * @param {Page["changes"]} changes
 */
function latest(changes) {
  const byKey = new Map(changes.map((c) => [`${c.entity}\u0000${c.id}`, c]));
  return byKey.size === changes.length ? changes : [...byKey.values()];
}

/** @param {[string, string]} key */
function keyOf(key) {
  return `${key[0]}\u0000${key[1]}`;
}

/**
 * A synced row holding the server's record (its base is its data: `base` null).
 * @param {Page["changes"][number]} change
 * @param {number | null} generation
 * @returns {Row & {seen?: number}}
 */
function synced(change, generation) {
  /** @type {Row & {seen?: number}} */
  const row = {
    entity: change.entity, id: change.id, base_version: change.version, base: null,
    data: change.record, state: "synced", rev: 0, seq: 0, error: null, conflict_id: null,
  };
  if (generation !== null) row.seen = generation;
  return row;
}

/**
 * Keep the newest server state beside a row with unsynced changes.
 * @param {Store} store
 * @param {IDBTransaction} tx
 * @param {Page["changes"][number]} change
 * @param {LayOver | null} layOver
 */
async function remember(store, tx, change, layOver) {
  const records = tx.objectStore("records");
  const row = /** @type {Row} */ (await request(records.get([change.entity, change.id])));
  const server = { version: change.version, deleted: change.deleted, record: change.record };
  const laid = layOver
    ? layOver(row, server)
    : { ...row, server_version: server.version, server_data: server.record, server_deleted: server.deleted };
  await request(store.putRow(tx, laid));
}

/**
 * Drop the synced records this full download did not bring (the server no longer has
 * them for this user); unsynced rows stay.
 * @param {Store} store
 * @param {number} generation
 */
async function finishResync(store, generation) {
  await store.transaction(["records", "meta"], "readwrite", async (tx) => {
    const cursorRequest = tx.objectStore("records").openCursor();
    await new Promise((resolve, reject) => {
      cursorRequest.onerror = () => reject(cursorRequest.error);
      cursorRequest.onsuccess = () => {
        const cursor = cursorRequest.result;
        if (!cursor) return resolve(null);
        const row = cursor.value;
        if (row.state === "synced" && row.seen !== generation) cursor.delete();
        cursor.continue();
      };
    });
    await store.putMeta(tx, "resync", false);
  });
  store.notify("sync");
}
