// The service worker's registration and its updates, for the page's boot (main.js).

/**
 * Register the app's service worker. `onUpdateReady` is called when a new version has
 * installed and waits: the page then shows "Update ready — reload" and, when the user
 * accepts, calls the function it was given, which activates the new version and reloads.
 * @param {(applyUpdate: () => void) => void} onUpdateReady
 * @returns {Promise<ServiceWorkerRegistration | null>}
 */
export async function registerWorker(onUpdateReady) {
  if (!("serviceWorker" in navigator)) return null;
  const registration = await navigator.serviceWorker.register(
    new URL("../sw.js", import.meta.url),
    { scope: new URL("../", import.meta.url).pathname },
  );
  const announce = () => {
    const waiting = registration.waiting;
    if (waiting && navigator.serviceWorker.controller) onUpdateReady(() => activate(waiting));
  };
  announce();
  registration.addEventListener("updatefound", () => {
    const installing = registration.installing;
    installing?.addEventListener("statechange", () => {
      if (installing.state === "installed") announce();
    });
  });
  return registration;
}

/** @param {ServiceWorker} waiting */
function activate(waiting) {
  navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), {
    once: true,
  });
  waiting.postMessage({ type: "skip-waiting" });
}

/**
 * Ask the browser for a Background Sync when the network returns (where it has it).
 * @returns {Promise<boolean>} whether it was registered
 */
export async function requestBackgroundSync() {
  if (!("serviceWorker" in navigator)) return false;
  const registration = /** @type {any} */ (await navigator.serviceWorker.ready);
  if (!registration.sync) return false;
  try {
    await registration.sync.register("fieldsync");
    return true;
  } catch {
    return false; // refused (no permission): the other triggers still sync
  }
}
