// Hash routes: the app is one page; the part after `#` names the screen and its arguments.
//
//   #/                      home: the entities with their counts
//   #/login                 log in (or the password again when the session ended)
//   #/list/<entity>         an entity's records
//   #/record/<entity>/<id>  one record, read view
//   #/edit/<entity>/<id>    its form
//   #/new/<entity>          a new record's form
//   #/errors                Sync errors (conflicts, refused changes, notices)
//   #/conflict/<id>         one conflict
//   #/settings              the account, the device, log out

/**
 * @typedef {{name: "home"|"login"|"list"|"record"|"edit"|"new"|"errors"|"conflict"|"settings"|"missing",
 *   entity?: string, id?: string}} Route
 */

/** @param {string} hash @returns {Route} */
export function parseRoute(hash) {
  let parts;
  try {
    parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return { name: "missing" }; // a malformed escape (`%E0%A4%A`) names no screen
  }
  const [name = "", a, b] = parts;
  switch (name) {
    case "":
      return { name: "home" };
    case "login":
    case "errors":
    case "settings":
      return parts.length === 1 ? { name } : { name: "missing" };
    case "list":
    case "new":
      return a && parts.length === 2 ? { name, entity: a } : { name: "missing" };
    case "record":
    case "edit":
      return a && b && parts.length === 3 ? { name, entity: a, id: b } : { name: "missing" };
    case "conflict":
      return a && parts.length === 2 ? { name, id: a } : { name: "missing" };
    default:
      return { name: "missing" };
  }
}

/** The hash of a screen, its arguments escaped. */
export const href = {
  home: () => "#/",
  login: () => "#/login",
  list: (/** @type {string} */ entity) => `#/list/${encodeURIComponent(entity)}`,
  record: (/** @type {string} */ entity, /** @type {string} */ id) =>
    `#/record/${encodeURIComponent(entity)}/${encodeURIComponent(id)}`,
  edit: (/** @type {string} */ entity, /** @type {string} */ id) =>
    `#/edit/${encodeURIComponent(entity)}/${encodeURIComponent(id)}`,
  create: (/** @type {string} */ entity) => `#/new/${encodeURIComponent(entity)}`,
  errors: () => "#/errors",
  conflict: (/** @type {string} */ id) => `#/conflict/${encodeURIComponent(id)}`,
  settings: () => "#/settings",
};

/** Go to a screen (through `hashchange`, so Back returns). */
export function navigate(/** @type {string} */ hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** Call `onRoute` now and at every change of the hash. */
export function startRouter(/** @type {(route: Route) => void} */ onRoute) {
  const fire = () => onRoute(parseRoute(location.hash));
  window.addEventListener("hashchange", fire);
  fire();
}
