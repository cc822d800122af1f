// When the engine syncs by itself: when the app opens, a little after a local change,
// when the network returns, every 5 minutes while the app is visible, when it becomes
// visible after a while, and when Background Sync wakes the app (where the browser has it).

import { requestBackgroundSync } from "./install.js";

/** @typedef {import("./sync.js").SyncEngine} SyncEngine */

const AFTER_CHANGE_MS = 2_000;
const PERIOD_MS = 5 * 60_000;
const NOT_READ = Symbol("seq not read yet");

/**
 * Start syncing by itself; returns the function that stops it (`engine.stop()` calls it).
 * @param {SyncEngine} engine
 * @returns {() => void}
 */
export function startAutoSync(engine) {
  /** @type {ReturnType<typeof setTimeout> | null} */
  let debounce = null;
  const now = () => void engine.sync();
  const soon = () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(now, AFTER_CHANGE_MS);
  };
  const stale = () => {
    if (document.visibilityState !== "visible") return;
    const last = engine.lastFinished ?? 0;
    if (Date.now() - last >= PERIOD_MS) now();
  };
  // A wake-up while a retry waits (the server cannot be reached) leaves it to the retry.
  const woken = (/** @type {MessageEvent} */ event) => {
    if (event.data?.type === "sync" && !engine.retry) now();
  };
  // Local edits take the next `seq`; the engine's own writes (a project, a pull) do not.
  /** @type {unknown} */
  let seq = NOT_READ;
  void engine.store.getMeta("seq").then((current) => {
    if (seq === NOT_READ) seq = current;
  });
  const unsubscribe = engine.store.subscribe((change) => {
    if (change.what !== "records") return;
    void engine.store.getMeta("seq").then((current) => {
      if (seq !== NOT_READ && current !== seq) soon();
      seq = current;
    });
  });
  const offDone = engine.on("done", (result) => {
    // Background Sync waits for the network; with the browser online it fires at once.
    if (result.error === "offline" && !navigator.onLine) void requestBackgroundSync();
    void engine.store.getMeta("seq").then((current) => {
      if (seq !== NOT_READ && current !== seq) soon(); // edited while the sync ran
      seq = current;
    });
  });
  addEventListener("online", now);
  document.addEventListener("visibilitychange", stale);
  navigator.serviceWorker?.addEventListener("message", woken);
  const timer = setInterval(stale, PERIOD_MS / 5);
  engine.retrying = true;
  now();
  const stop = () => {
    engine.retrying = false;
    if (debounce) clearTimeout(debounce);
    clearInterval(timer);
    unsubscribe();
    offDone();
    removeEventListener("online", now);
    document.removeEventListener("visibilitychange", stale);
    navigator.serviceWorker?.removeEventListener("message", woken);
  };
  engine.stopAuto = stop;
  return stop;
}
