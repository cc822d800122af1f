// The field app's service worker: the app shell and every module, cached under the
// app's version, so the app opens with no network. API answers (/v1/) are never
// cached: the data lives in the store. A new version installs beside the running one
// and waits until the page accepts it ("Update ready — reload") or the app is closed.

const VERSION = "__FIELDSYNC_APP_VERSION__";
const FILES = /** @type {string[]} */ (JSON.parse("__FIELDSYNC_APP_FILES__"));
const CACHE = `fieldsync-app-${VERSION}`;
const SCOPE = new URL("./", self.location.href).pathname;

// The bits of ServiceWorkerGlobalScope used here (its type library clashes with the DOM's).
/** @type {{addEventListener: (type: string, listener: (event: any) => void) => void,
 *   clients: {claim: () => Promise<void>, matchAll: (o: object) => Promise<{postMessage: (m: any) => void}[]>},
 *   skipWaiting: () => Promise<void>}} */
const worker = /** @type {any} */ (self);

worker.addEventListener("install", (event) => {
  event.waitUntil(precache());
});

worker.addEventListener("activate", (event) => {
  event.waitUntil(dropOldCaches().then(() => worker.clients.claim()));
});

worker.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") void worker.skipWaiting();
});

worker.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith(SCOPE)) return; // /v1/ and /admin/ go to the network
  event.respondWith(fromCache(event.request, url));
});

// Background Sync: the engine runs in the page, so the worker wakes the open pages.
worker.addEventListener("sync", (event) => {
  const syncEvent = /** @type {any} */ (event);
  if (syncEvent.tag !== "fieldsync") return;
  syncEvent.waitUntil(wakePages());
});

async function precache() {
  const cache = await caches.open(CACHE);
  // `reload`: straight from the server, never from the browser's HTTP cache.
  await cache.addAll(FILES.map((file) => new Request(SCOPE + file, { cache: "reload" })));
}

async function dropOldCaches() {
  const names = await caches.keys();
  const old = names.filter((name) => name.startsWith("fieldsync-app-") && name !== CACHE);
  await Promise.all(old.map((name) => caches.delete(name)));
}

/**
 * The cached file; a page of the app (a navigation) is its shell, index.html.
 * @param {Request} request
 * @param {URL} url
 */
async function fromCache(request, url) {
  const cache = await caches.open(CACHE);
  const key = request.mode === "navigate" ? `${SCOPE}index.html` : url.pathname;
  const hit = await cache.match(key, { ignoreSearch: true });
  return hit ?? fetch(request);
}

async function wakePages() {
  const pages = await worker.clients.matchAll({ type: "window" });
  for (const page of pages) page.postMessage({ type: "sync" });
}
