// What every screen shares: building elements, the record markers, a confirm dialog,
// and the context main.js hands to a screen.
//
// A screen module exports `render(view, ctx, route)`: it fills `view` and may return
// `{refresh, dispose, focus}` — `refresh()` is called after a sync or another write changed
// the store, `dispose()` when the screen is left, `focus()` once the screen is shown, to put
// the focus where the person starts (else the screen itself gets it).

/**
 * @typedef {import("./store.js").Store} Store
 * @typedef {import("./sync.js").SyncEngine} SyncEngine
 * @typedef {import("./router.js").Route} Route
 * @typedef {{store: Store, engine: SyncEngine, username: string}} ScreenContext
 * @typedef {{refresh?: () => void | Promise<void>, dispose?: () => void, focus?: () => void}} Screen
 */

/**
 * @typedef {string | number | boolean | null | undefined | ((e: Event) => void)} AttrValue
 * @typedef {Node | string | null | undefined | false} Child
 */

/**
 * An element with attributes and children. `on<event>` attributes add listeners; `false`,
 * null and undefined attributes and children are left out; strings become text (never HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

/**
 * @typedef {{state?: string, conflict_id?: string|null, error?: {code: string, message: string}|null}} Marked
 */

/** The markers of a record's sync state, each an icon and words. */
export function markers(/** @type {Marked} */ row) {
  /** @type {HTMLElement[]} */
  const marks = [];
  if (row.conflict_id) marks.push(mark("conflict", "⚠", "Conflict"));
  if (row.error) marks.push(mark("refused", "⛔", "Refused"));
  if (row.state && row.state !== "synced" && !row.conflict_id && !row.error) {
    marks.push(mark("unsynced", "↑", "Not synced"));
  }
  return marks;
}

/** @param {string} kind @param {string} icon @param {string} words */
function mark(kind, icon, words) {
  return h("span", { class: `mark ${kind}` }, h("span", { "aria-hidden": "true" }, icon), words);
}

/**
 * Ask before something that cannot be undone; resolves true when confirmed.
 * @param {string} question
 * @param {string} yes the words of the button that does it
 */
export function confirmDialog(question, yes) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-q" },
      h("p", { id: "confirm-q" }, question),
      h(
        "form",
        { method: "dialog", class: "actions" },
        h("button", { value: "no", class: "secondary" }, "Cancel"),
        h("button", { value: "yes", class: "danger" }, yes),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "yes");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Replace what `view` shows and move the focus to it (so a screen reader starts there). */
export function show(/** @type {HTMLElement} */ view, /** @type {Child[]} */ ...children) {
  view.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false).map((c) => /** @type {Node|string} */ (c)));
}

/**
 * `text` with a line-break opportunity (`<wbr>`) after each "@", ".", "/" and "_" that a
 * character follows, so an e-mail, an address on the web or a file name wraps between its
 * parts on a narrow screen instead of in the middle of one.
 * @param {string} text
 * @returns {(string|HTMLElement)[]}
 */
export function breakable(text) {
  return text.split(/(?<=[@./_])(?=\S)/).flatMap((part, i) => (i ? [h("wbr"), part] : [part]));
}

/** A debounced function: runs `wait` ms after the last call. */
export function debounce(/** @type {() => void} */ fn, /** @type {number} */ wait) {
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, wait);
  };
}

/**
 * What a route naming an entity the project does not have shows, with the way home.
 * @param {string} name
 * @returns {Child[]}
 */
export function unknownEntity(name) {
  return [
    h("h1", {}, "Not found"),
    h("p", {}, `This app has no records of the kind “${name}”.`),
    h("p", {}, h("a", { href: "#/" }, "Go to the start")),
  ];
}
