// The sync bar under the title: what the last sync did ("Synced 12:03 · 2 conflicts need
// you"), the progress of a running one ("Syncing… 3,200 of 10,000 records", per entity
// during a first download), "Offline", "Signed out", and a Sync now button.

import { formatCount, formatTime } from "../format.js";
import { href } from "../router.js";
import { h } from "../ui.js";
import { plural } from "./list.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {{phase?: string, received?: number, total?: number|null, bytes?: number,
 *   per_entity?: Record<string, number>, totals?: Record<string, number>}} Progress
 * @typedef {{at?: string, ok?: boolean, error?: string, message?: string}} LastResult
 * @typedef {{online: boolean, running: boolean, progress: Progress|null, lastSync: string|null,
 *   lastResult: LastResult|null, conflicts: number, refused: number, pending: number,
 *   authNeeded: boolean, labels: Record<string, string>}} SyncState
 */

const TRANSPORT = "offline";

/**
 * What the bar says: a line and, below it, the detail.
 * @param {SyncState} s
 * @returns {{text: string, detail: string, kind: string}}
 */
export function describe(s) {
  const waiting = s.pending ? `${countOf(s.pending, "change")} not sent yet` : "";
  if (s.authNeeded) {
    return { kind: "signed-out", text: "Signed out", detail: `Enter your password to sync${waiting ? `; ${waiting}, kept on this phone` : ""}` };
  }
  if (s.running) return { kind: "syncing", text: progressText(s.progress), detail: perEntity(s.progress, s.labels) };
  const failed = s.lastResult && s.lastResult.ok === false ? s.lastResult : null;
  if (!s.online || failed?.error === TRANSPORT) {
    return { kind: "offline", text: "Offline", detail: waiting ? `${waiting}: kept on this phone, sent when you are back` : lastSynced(s.lastSync) };
  }
  if (failed) {
    return { kind: "failed", text: `Sync failed${failed.at ? ` ${formatTime(failed.at)}` : ""}`, detail: failed.message ?? "" };
  }
  if (!s.lastSync) return { kind: "never", text: "Not synced yet", detail: waiting };
  const needs = [];
  if (s.conflicts) needs.push(`${countOf(s.conflicts, "conflict")} ${s.conflicts === 1 ? "needs" : "need"} you`);
  if (s.refused) needs.push(`${countOf(s.refused, "change")} refused`);
  return { kind: needs.length ? "attention" : "synced", text: [`Synced ${formatTime(s.lastSync)}`, ...needs].join(" · "), detail: waiting };
}

/** @param {Progress|null} p */
function progressText(p) {
  if (!p || !p.received) return "Syncing…";
  if (typeof p.total === "number") return `Syncing… ${ofTotal(p.received, p.total)} records`;
  return `Syncing… ${formatCount(p.received)} records`;
}

/**
 * "Accounts 3,200 of 10,000 · Contacts 0 of 5,000" (without "of" from a server that
 * does not say how many).
 * @param {Progress|null} p @param {Record<string, string>} labels
 */
function perEntity(p, labels) {
  const received = p?.per_entity ?? {};
  const totals = p?.totals ?? {};
  const names = [...new Set([...Object.keys(totals), ...Object.keys(received)])];
  return names
    .filter((name) => (received[name] ?? 0) > 0 || (totals[name] ?? 0) > 0)
    .map((name) => `${plural(labels[name] ?? name)} ${ofTotal(received[name] ?? 0, totals[name])}`)
    .join(" · ");
}

/**
 * "3,200 of 10,000", or "3,200" when the total is not known.
 * @param {number} n @param {number} [total]
 */
export function ofTotal(n, total) {
  return total === undefined ? formatCount(n) : `${formatCount(n)} of ${formatCount(total)}`;
}

/** @param {string|null} at */
function lastSynced(at) {
  return at ? `Last synced ${formatTime(at)}` : "Not synced yet";
}

/** "1 change", "3 changes". @param {number} n @param {string} noun */
function countOf(n, noun) {
  return `${formatCount(n)} ${n === 1 ? noun : `${noun}s`}`;
}

/**
 * Keep the bar in `bar` up to date with the store and the engine.
 * @param {HTMLElement} bar
 * @param {ScreenContext} ctx
 * @returns {{refresh: () => Promise<void>, dispose: () => void}}
 */
export function mount(bar, ctx) {
  const text = h("span", { class: "text", id: "sync-text" });
  const button = h("button", { type: "button", id: "sync-now" }, "Sync now");
  bar.replaceChildren(text, button);
  /** @type {Progress|null} */
  let progress = null;

  async function refresh() {
    const store = ctx.store;
    const running = ctx.engine.status().running;
    const [lastSync, lastResult, authNeeded, download, conflicts, refused, pending] = await Promise.all([
      store.getMeta("last_sync"),
      store.getMeta("last_result"),
      store.getMeta("auth_needed"),
      store.getMeta("download"),
      store.openConflicts(),
      store.refusedRecords(),
      store.pendingCount(),
    ]);
    /** @type {Record<string, string>} */
    const labels = {};
    for (const e of store.project()?.entities ?? []) labels[e.name] = e.label ?? e.name;
    const said = describe({
      online: navigator.onLine,
      running,
      progress: running ? (progress ?? download ?? null) : null,
      lastSync: lastSync ?? null,
      lastResult: lastResult ?? null,
      conflicts: conflicts.length,
      refused: refused.length,
      pending,
      authNeeded: Boolean(authNeeded),
      labels,
    });
    bar.dataset.kind = said.kind;
    const line = said.kind === "attention" ? h("a", { href: href.errors() }, said.text) : said.kind === "signed-out" ? h("a", { href: href.login() }, said.text) : said.text;
    text.replaceChildren(line, said.detail ? h("span", { class: "detail" }, said.detail) : "");
    button.disabled = running;
    button.textContent = running ? "Syncing…" : "Sync now";
  }

  button.addEventListener("click", () => {
    void ctx.engine.sync();
    void refresh();
  });
  const offProgress = ctx.engine.on("progress", (/** @type {Progress} */ p) => {
    progress = p;
    void refresh();
  });
  const offDone = ctx.engine.on("done", () => {
    progress = null;
    void refresh();
  });
  const onNetwork = () => void refresh();
  window.addEventListener("online", onNetwork);
  window.addEventListener("offline", onNetwork);
  void refresh();
  return {
    refresh,
    dispose() {
      offProgress();
      offDone();
      window.removeEventListener("online", onNetwork);
      window.removeEventListener("offline", onNetwork);
    },
  };
}
