// Home: the entities on this phone with their record counts and unsent changes, and what
// needs the person (open conflicts, refused changes) first.

import { formatCount } from "../format.js";
import { href } from "../router.js";
import { h, show } from "../ui.js";
import { plural } from "./list.js";

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
                  h("span", { class: "count" }, formatCount(counts[i])),
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

/** "2 conflicts and 1 refused change need you". @param {number} conflicts @param {number} refused */
function needsYou(conflicts, refused) {
  const parts = [];
  if (conflicts) parts.push(`${formatCount(conflicts)} ${conflicts === 1 ? "conflict" : "conflicts"}`);
  if (refused) parts.push(`${formatCount(refused)} refused ${refused === 1 ? "change" : "changes"}`);
  return `${parts.join(" and ")} ${conflicts + refused === 1 ? "needs" : "need"} you`;
}
