// An entity's records: a search as you type, the entity's order (appointments by start,
// upcoming first; others by name), pages of rows loaded as the list scrolls, and the
// markers of records that are not synced, in conflict or refused.

import { formatCount, formatValue } from "../format.js";
import { href } from "../router.js";
import { titleFields } from "../store.js";
import { breakable, debounce, h, markers, show } from "../ui.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {import("../ui.js").Screen} Screen
 * @typedef {import("../format.js").FieldDef} FieldDef
 * @typedef {{entity: string, id: string, title?: string, sort?: string, state?: string,
 *   data: Record<string, unknown>|null, conflict_id?: string|null,
 *   error?: {code: string, message: string}|null}} Row
 */

const PAGE = 50;
const SEARCH_WAIT_MS = 200;

/**
 * @param {HTMLElement} view
 * @param {ScreenContext} ctx
 * @param {{entity?: string, id?: string}} route
 * @returns {Promise<Screen & {select: (id: string|undefined) => void, entity: string}>}
 */
export async function render(view, ctx, route) {
  const entity = ctx.store.entity(route.entity ?? "");
  const name = route.entity ?? "";
  if (!entity) {
    show(view, h("h1", {}, "Not found"), h("p", {}, `There is no list “${name}” on this phone.`));
    return { entity: name, select() {} };
  }
  const label = plural(entity.label ?? entity.name);
  const count = h("span", { class: "count" });
  const search = h("input", {
    type: "search",
    id: `search-${entity.name}`,
    placeholder: `Search ${label.toLowerCase()}`,
    autocomplete: "off",
    enterkeyhint: "search",
  });
  const cards = h("ul", { class: "cards", "aria-label": label });
  const status = h("p", { class: "empty", role: "status" });
  const more = h("button", { type: "button", class: "secondary more", hidden: true }, "Show more");
  const sentinel = h("div", { "aria-hidden": "true" });
  show(
    view,
    h(
      "div",
      { class: "list-head" },
      h("h1", {}, label, " ", count),
      h("a", { class: "button", href: href.create(entity.name) }, h("span", { "aria-hidden": "true" }, "+"), `New ${(entity.label ?? entity.name).toLowerCase()}`),
    ),
    h("label", { class: "search", for: search.id }, h("span", { class: "visually-hidden" }, `Search ${label.toLowerCase()}`), search),
    cards,
    status,
    more,
    sentinel,
  );

  let selected = route.id;
  let generation = 0;
  /** @type {string|undefined} */
  let after;
  let loaded = 0;
  let loading = false;
  const fields = /** @type {FieldDef[]} */ (entity.fields);
  const start = fields.find((f) => f.type === "datetime" && f.name === "start")?.name;
  let past = false;

  async function load(/** @type {boolean} */ reset, /** @type {number} */ limit = PAGE) {
    const mine = reset ? ++generation : generation;
    loading = true;
    const query = search.value.trim();
    const page = await ctx.store.listRecords(name, {
      search: query || undefined,
      limit,
      after: reset ? undefined : after,
    });
    loading = false;
    if (mine !== generation) return;
    /** @type {HTMLElement[]} */
    const items = [];
    for (const row of /** @type {Row[]} */ (page.rows)) {
      if (reset && items.length === 0) past = false;
      if (!past && start && isPast(row.data?.[start])) {
        past = true;
        items.push(h("li", { class: "divider" }, "Earlier"));
      }
      items.push(card(row, fields, selected));
    }
    if (reset) {
      cards.replaceChildren(...items);
      loaded = 0;
    } else cards.append(...items);
    loaded += page.rows.length;
    after = page.next ?? undefined;
    more.hidden = !page.more;
    status.textContent = loaded
      ? ""
      : query
        ? `No ${label.toLowerCase()} match “${query}”.`
        : `No ${label.toLowerCase()} on this phone yet.`;
    const total = await ctx.store.countRecords(name);
    count.textContent = `(${formatCount(total)})`;
  }

  search.addEventListener("input", debounce(() => void load(true), SEARCH_WAIT_MS));
  more.addEventListener("click", () => void load(false));
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && !more.hidden && !loading) void load(false);
  });
  observer.observe(sentinel);
  await load(true);

  return {
    entity: name,
    refresh: () => load(true, Math.max(PAGE, loaded)),
    dispose: () => observer.disconnect(),
    select(id) {
      selected = id;
      for (const link of cards.querySelectorAll("a.card")) {
        if (link.getAttribute("data-id") === id) {
          link.setAttribute("aria-current", "true");
          link.scrollIntoView({ block: "nearest" });
        } else link.removeAttribute("aria-current");
      }
    },
  };
}

/** Whether a stored date-time lies before now. @param {unknown} value */
function isPast(value) {
  return typeof value === "string" && new Date(value).getTime() < Date.now();
}

/** One row of the list: the record's name, a line of its main values, its markers. */
export function card(/** @type {Row} */ row, /** @type {FieldDef[]} */ fields, /** @type {string|undefined} */ selected) {
  const values = row.data ?? {};
  return h(
    "li",
    {},
    h(
      "a",
      {
        class: "card",
        href: href.record(row.entity, row.id),
        "data-id": row.id,
        "aria-current": row.id === selected ? "true" : false,
      },
      h("span", { class: "title" }, row.title || "(no name)"),
      subtitle(values, fields, row.title ?? ""),
      h("span", { class: "marks" }, ...markers(row)),
    ),
  );
}

/**
 * The second line of a card: the record's date and one or two short values, never the
 * values its name is made of (a contact's first and last name).
 */
function subtitle(/** @type {Record<string, unknown>} */ values, /** @type {FieldDef[]} */ fields, /** @type {string} */ title) {
  const named = new Set(titleFields(fields).map((f) => f.name));
  const dates = [];
  const words = [];
  for (const field of fields) {
    const value = values[field.name];
    if (value === null || value === undefined || value === "" || value === title || named.has(field.name)) continue;
    if (field.type === "datetime" || field.type === "date") dates.push(formatValue(field, value));
    else if (field.type === "string" || field.type === "picklist") words.push(String(value));
  }
  const line = [...dates.slice(0, 1), ...words].slice(0, 2).join(" · ");
  return line ? h("span", { class: "sub" }, breakable(line)) : null;
}

const IRREGULAR = /** @type {Record<string, string>} */ ({ person: "people", child: "children", man: "men", woman: "women" });
const UNCOUNTED = new Set(["data", "equipment", "feedback", "information", "software", "hardware", "staff", "news", "media", "series", "species"]);

/**
 * An entity's label as a list heading ("Account" → "Accounts"). Only a plain English word
 * whose plural is known changes; any other label (an acronym, one ending in s, another
 * language's word) is used as the project gives it.
 */
export function plural(/** @type {string} */ label) {
  const last = label.split(" ").pop() ?? "";
  const lower = last.toLowerCase();
  if (!/^[A-Za-z ]+$/.test(label) || !/^[A-Za-z][a-z]+$/.test(last) || UNCOUNTED.has(lower) || lower.endsWith("s")) {
    return label;
  }
  const stem = label.slice(0, -last.length);
  if (IRREGULAR[lower]) return stem + last[0] + IRREGULAR[lower].slice(1);
  if (/[^aeiou]y$/.test(lower)) return `${label.slice(0, -1)}ies`;
  if (/(x|z|ch|sh)$/.test(lower)) return `${label}es`;
  return `${label}s`;
}
