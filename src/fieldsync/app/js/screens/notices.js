// Notices: what a policy other than User Action replaced of what the worker typed (the
// office's version under Server Wins, another phone's under Full Device Wins), said after
// the sync for some days instead of overwritten in silence.

import { formatDateTime, formatValue } from "../format.js";
import { href } from "../router.js";
import { h } from "../ui.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {import("../format.js").FieldDef} FieldDef
 * @typedef {{id: string, at: string, entity: string, record_id: string, title: string,
 *   outcome: string, op?: string, deleted?: boolean,
 *   fields: {name: string, typed: unknown, kept: unknown}[]}} Notice
 */

/** Whose version replaced what was typed, by the outcome of the change. */
const WHOSE = /** @type {Record<string, string>} */ ({
  server_wins: "The office's version",
  device_wins: "Another phone's version",
  merged: "A merge with the office's version",
});

/**
 * The headline of a notice.
 * @param {Notice} notice
 */
export function headline(notice) {
  if (notice.deleted) return "The office deleted this record; what you typed is kept in the journal.";
  if (notice.op === "delete") return "Your delete was undone: the office changed this record.";
  return `${WHOSE[notice.outcome] ?? "The server's version"} replaced what you typed:`;
}

/**
 * The recent notices as a list (null when there are none).
 * @param {ScreenContext} ctx
 * @param {Notice[]} notices
 */
export function noticeList(ctx, notices) {
  if (notices.length === 0) return null;
  return h(
    "section",
    { class: "notices", "aria-labelledby": "notices-title" },
    h("h2", { id: "notices-title" }, "Recent notices"),
    h("ul", { class: "cards" }, ...notices.map((n) => h("li", {}, noticeItem(ctx, n)))),
  );
}

/**
 * @param {ScreenContext} ctx
 * @param {Notice} notice
 */
function noticeItem(ctx, notice) {
  const fields = /** @type {FieldDef[]} */ (ctx.store.entity(notice.entity)?.fields ?? []);
  const gone = notice.deleted;
  return h(
    "div",
    { class: "notice" },
    h(
      "p",
      { class: "title" },
      h("span", { "aria-hidden": "true" }, "ℹ "),
      gone ? notice.title || "(no name)" : h("a", { href: href.record(notice.entity, notice.record_id) }, notice.title || "(no name)"),
    ),
    h("p", {}, headline(notice)),
    notice.fields.length > 0 &&
      h(
        "ul",
        { class: "replaced" },
        ...notice.fields.map((f) => {
          const field = fields.find((d) => d.name === f.name) ?? { name: f.name, type: "string", label: f.name };
          return h("li", {}, `${field.label ?? f.name}: you typed “${formatValue(field, f.typed)}”, now “${formatValue(field, f.kept)}”`);
        }),
      ),
    h("p", { class: "sub" }, formatDateTime(notice.at)),
  );
}
