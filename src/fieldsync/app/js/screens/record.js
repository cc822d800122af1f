// One record, read: its values formatted for the phone, links to call, write and find it
// on a map, the records that point at it (an account's contacts and appointments), its
// sync state in words, Edit and Delete.

import { deleteRecord } from "../edits.js";
import { formatCount, formatValue } from "../format.js";
import { refusal } from "../refusals.js";
import { href, navigate } from "../router.js";
import { breakable, confirmDialog, h, markers, show, unknownEntity } from "../ui.js";
import { card, plural } from "./list.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {import("../ui.js").Screen} Screen
 * @typedef {import("../format.js").FieldDef} FieldDef
 * @typedef {import("./list.js").Row} Row
 */

const PHONE = /phone|mobile|^tel/i;
const EMAIL = /e-?mail/i;
const ADDRESS = ["street", "address", "address1", "address2", "zip", "postcode", "postal_code", "city", "state", "country"];
const PLACE = /location|place|address/i;
const RELATED_SHOWN = 20;

/**
 * @param {HTMLElement} view
 * @param {ScreenContext} ctx
 * @param {{entity?: string, id?: string}} route
 * @returns {Promise<Screen>}
 */
export async function render(view, ctx, route) {
  const draw = () => draw_(view, ctx, route.entity ?? "", route.id ?? "");
  await draw();
  return { refresh: draw };
}

/** @param {HTMLElement} view @param {ScreenContext} ctx @param {string} name @param {string} id */
async function draw_(view, ctx, name, id) {
  const entity = ctx.store.entity(name);
  const row = /** @type {Row|null} */ (entity ? await ctx.store.getRecord(name, id) : null);
  const back = h("a", { class: "back", href: href.list(name) }, "‹ ", entity ? plural(entity.label ?? name) : "Back");
  if (!entity) {
    show(view, ...unknownEntity(name));
    return;
  }
  if (!row || !row.data) {
    show(view, back, h("h1", {}, "Not on this phone"), h("p", {}, "This record was deleted or is not on this phone."));
    return;
  }
  const fields = /** @type {FieldDef[]} */ (entity.fields);
  const values = row.data;
  const titles = await lookupTitles(ctx, fields, values);
  show(
    view,
    back,
    h("h1", {}, row.title || "(no name)"),
    h("p", { class: "marks" }, ...markers(row)),
    problems(row, ctx),
    quickLinks(fields, values),
    h("dl", { class: "fields" }, ...fields.filter((f) => !empty(values[f.name])).map((f) => fieldItem(f, values[f.name], titles))),
    h(
      "div",
      { class: "actions" },
      h("a", { class: "button", href: href.edit(name, id) }, "Edit"),
      h("button", { type: "button", class: "danger", onclick: () => void remove(name, id, row.title ?? "") }, "Delete"),
    ),
    await relatedLists(ctx, name, id),
  );

  /** @param {string} ename @param {string} rid @param {string} title */
  async function remove(ename, rid, title) {
    if (!(await confirmDialog(`Delete “${title || "this record"}”? It is deleted on the server at the next sync.`, "Delete"))) return;
    await deleteRecord(ctx.store, ename, rid);
    navigate(href.list(ename));
  }
}

/** @param {unknown} value */
function empty(value) {
  return value === null || value === undefined || value === "";
}

/** The names of the records the lookups point at, by id. */
async function lookupTitles(/** @type {ScreenContext} */ ctx, /** @type {FieldDef[]} */ fields, /** @type {Record<string, unknown>} */ values) {
  /** @type {Map<string, string>} */
  const titles = new Map();
  for (const field of fields) {
    const id = values[field.name];
    if (field.type !== "lookup" || !field.target || typeof id !== "string") continue;
    const target = /** @type {Row|null} */ (await ctx.store.getRecord(field.target, id));
    titles.set(id, target?.data ? target.title || "(no name)" : "(not on this phone)");
  }
  return titles;
}

/**
 * What stops the record from syncing, with the way to settle it: a refusal says its
 * cause in the words of Sync errors (refusals.js).
 * @param {Row} row
 * @param {ScreenContext} ctx
 */
function problems(row, ctx) {
  if (row.conflict_id) {
    return h(
      "p",
      { class: "problem conflict" },
      h("span", { "aria-hidden": "true" }, "⚠ "),
      "The office changed this record too. ",
      h("a", { href: href.conflict(row.conflict_id) }, "Decide which version to keep"),
    );
  }
  if (row.error) {
    return h(
      "p",
      { class: "problem" },
      h("span", { "aria-hidden": "true" }, "⛔ "),
      `The server refused your change: ${refusal(row.error, ctx.store.entity(row.entity), ctx.store.project()?.entities ?? []).cause} `,
      h("a", { href: href.errors() }, "See Sync errors"),
    );
  }
  return null;
}

/** Buttons to call, e-mail and find the record on a map. */
function quickLinks(/** @type {FieldDef[]} */ fields, /** @type {Record<string, unknown>} */ values) {
  const links = [];
  const phone = fields.find((f) => PHONE.test(f.name) && !empty(values[f.name]));
  if (phone) links.push(h("a", { class: "button secondary", href: telHref(String(values[phone.name])) }, h("span", { "aria-hidden": "true" }, "☎"), "Call"));
  const email = fields.find((f) => EMAIL.test(f.name) && mailHref(String(values[f.name] ?? "")));
  if (email) links.push(h("a", { class: "button secondary", href: mailHref(String(values[email.name])) }, h("span", { "aria-hidden": "true" }, "✉"), "Email"));
  const place = address(fields, values);
  if (place) links.push(h("a", { class: "button secondary", href: mapHref(place), target: "_blank", rel: "noopener" }, h("span", { "aria-hidden": "true" }, "⚑"), "Map"));
  return links.length ? h("div", { class: "quick" }, ...links) : null;
}

/** A phone number as a `tel:` link dials it: digits and a leading plus. */
export function telHref(/** @type {string} */ number) {
  return `tel:${number.trim().replace(/[^\d+]/g, "")}`;
}

/**
 * An e-mail address as a `mailto:` link writes to it and nothing more: only a plain
 * address (no `?`, `&`, `%`, commas…) makes one, so a value cannot add recipients,
 * a subject or a body; null for anything else.
 * @param {string} address
 */
export function mailHref(address) {
  const plain = address.trim();
  if (!/^[^\s@?&#%,;:/\\<>"()[\]]+@[^\s@?&#%,;:/\\<>"()[\]]+$/.test(plain)) return null;
  const [local, domain] = plain.split("@");
  return `mailto:${encodeURIComponent(local)}@${encodeURIComponent(domain)}`;
}

/** A maps search for an address; phones open it in their maps app. */
export function mapHref(/** @type {string} */ place) {
  return `https://www.google.com/maps/search/?api=1&query=${encodeURIComponent(place)}`;
}

/** The record's address in one line: its address fields, or a location field. */
function address(/** @type {FieldDef[]} */ fields, /** @type {Record<string, unknown>} */ values) {
  const parts = fields.filter((f) => ADDRESS.includes(f.name) && !empty(values[f.name])).map((f) => String(values[f.name]));
  if (parts.length) return parts.join(", ");
  const place = fields.find((f) => f.type === "string" && PLACE.test(f.name) && !empty(values[f.name]));
  return place ? String(values[place.name]) : "";
}

/**
 * One field of the read view; phones, e-mails and lookups as links.
 * @param {FieldDef} field @param {unknown} value @param {Map<string, string>} titles
 */
function fieldItem(field, value, titles) {
  const shown = breakable(formatValue(field, value, (id) => titles.get(id) ?? id));
  /** @type {Node|(string|Node)[]} */
  let content = shown;
  if (field.type === "lookup" && field.target && typeof value === "string") {
    content = h("a", { href: href.record(field.target, value) }, shown);
  } else if (PHONE.test(field.name)) {
    content = h("a", { href: telHref(String(value)) }, shown);
  } else if (EMAIL.test(field.name) && mailHref(String(value))) {
    content = h("a", { href: mailHref(String(value)) }, shown);
  }
  return h("div", {}, h("dt", {}, field.label ?? field.name), h("dd", {}, content));
}

/** The records whose lookups point at this one, a list per entity and field. */
async function relatedLists(/** @type {ScreenContext} */ ctx, /** @type {string} */ name, /** @type {string} */ id) {
  const groups = /** @type {{entity: string, field: string, rows: Row[]}[]} */ (await ctx.store.related(name, id));
  const sections = groups.map((group) => {
    const target = ctx.store.entity(group.entity);
    const label = plural(target?.label ?? group.entity);
    const rows = listOrder(group.rows.filter((r) => r.data), /** @type {FieldDef[]} */ (target?.fields ?? []));
    const headingId = `related-${group.entity}-${group.field}`;
    const fieldLabel = target?.fields.find((/** @type {FieldDef} */ f) => f.name === group.field)?.label;
    const more = groups.filter((g) => g.entity === group.entity).length > 1 && fieldLabel ? ` (${fieldLabel})` : "";
    return h(
      "section",
      { "aria-labelledby": headingId },
      h("h2", { id: headingId }, `${label}${more} `, h("span", { class: "count" }, `(${formatCount(rows.length)})`)),
      rows.length
        ? h(
            "ul",
            { class: "cards" },
            ...rows.slice(0, RELATED_SHOWN).map((r) => card(r, /** @type {FieldDef[]} */ (target?.fields ?? []), undefined)),
          )
        : h("p", { class: "muted" }, `No ${label.toLowerCase()}.`),
    );
  });
  return sections.length ? h("div", { class: "related" }, ...sections) : null;
}

/**
 * Rows in their list's order: by start, upcoming first, soonest first, then earlier ones,
 * latest first, for an entity with a start; by name for the others.
 * @param {Row[]} rows @param {FieldDef[]} fields
 */
function listOrder(rows, fields) {
  const start = fields.find((f) => f.type === "datetime" && f.name === "start")?.name;
  const byName = (/** @type {Row} */ a, /** @type {Row} */ b) => (a.title ?? "").localeCompare(b.title ?? "");
  if (!start) return [...rows].sort(byName);
  const now = Date.now();
  const at = (/** @type {Row} */ r) => {
    const value = r.data?.[start];
    return typeof value === "string" ? new Date(value).getTime() : Number.NaN;
  };
  const upcoming = rows.filter((r) => at(r) >= now).sort((a, b) => at(a) - at(b));
  const earlier = rows.filter((r) => !(at(r) >= now)).sort((a, b) => (at(b) || 0) - (at(a) || 0));
  return [...upcoming, ...earlier];
}
