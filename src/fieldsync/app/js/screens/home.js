// Home: the entities on this phone with their record counts and unsent changes, and what
// needs the person (open conflicts, refused changes) first. During a first download (or a
// download again after a 410), how far it is: "3,200 of 10,000 records", and per entity.

import { formatCount } from "../format.js";
import { href } from "../router.js";
import { h, show } from "../ui.js";
import { plural } from "./list.js";
import { ofTotal } from "./syncbar.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {import("../ui.js").Screen} Screen
 */

/**
 * @param {HTMLElement} view
 * @param {ScreenContext} ctx
 * @returns {Promise<Screen>}
 */
export async function render(view, ctx) {
  const draw = async () => {
    const store = ctx.store;
    const entities = store.project()?.entities ?? [];
    const counts = await Promise.all(entities.map((e) => store.countRecords(e.name)));
    const [conflicts, refused] = await Promise.all([store.openConflicts(), store.refusedRecords()]);
    /** @type {import("../pull.js").Download | null} */
    const download = await store.getMeta("download");
    const count = (/** @type {string} */ name, /** @type {number} */ held) =>
      download ? ofTotal(download.per_entity[name] ?? 0, download.totals?.[name]) : formatCount(held);
    const attention = conflicts.length + refused.length;
    show(
      view,
      h("h1", {}, `Hello, ${ctx.username}`),
      attention
        ? h(
            "p",
            { class: "callout alert" },
            h("span", { "aria-hidden": "true" }, "⚠ "),
            h("a", { href: href.errors() }, needsYou(conflicts.length, refused.length)),
          )
        : null,
      download ? h("p", { class: "callout info", id: "download" }, downloading(download, ctx.engine.status().running)) : null,
      entities.length
        ? h(
            "ul",
            { class: "tiles", "aria-label": "Records on this phone" },
            ...entities.map((e, i) =>
              h(
                "li",
                {},
                h(
                  "a",
                  { href: href.list(e.name) },
                  h("span", { class: "name" }, plural(e.label ?? e.name)),
                  h("span", { class: "count" }, count(e.name, counts[i])),
                ),
              ),
            ),
          )
        : h(
            "p",
            { class: "empty" },
            ctx.engine.status().running
              ? "Downloading your records… they show here as they arrive."
              : "Nothing on this phone yet: sync to download your records.",
          ),
    );
  };
  await draw();
  return { refresh: draw };
}

/**
 * "Downloading your records: 3,200 of 10,000", or where a cut download stands.
 * @param {import("../pull.js").Download} download
 * @param {boolean} running
 */
function downloading(download, running) {
  const done = `${ofTotal(download.received, download.total ?? undefined)} records`;
  return running ? `Downloading your records: ${done}` : `Download paused at ${done}: it goes on at the next sync`;
}

/** "2 conflicts and 1 refused change need you". @param {number} conflicts @param {number} refused */
function needsYou(conflicts, refused) {
  const parts = [];
  if (conflicts) parts.push(`${formatCount(conflicts)} ${conflicts === 1 ? "conflict" : "conflicts"}`);
  if (refused) parts.push(`${formatCount(refused)} refused ${refused === 1 ? "change" : "changes"}`);
  return `${parts.join(" and ")} ${conflicts + refused === 1 ? "needs" : "need"} you`;
}
