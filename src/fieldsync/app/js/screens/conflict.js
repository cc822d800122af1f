// One conflict, three-way: for each field the value before, mine ("you") and the
// office's, who changed it (in words and an icon, never colour alone), unchanged fields
// collapsed; "Use my version", "Use office version" and "Merge" (a side per field,
// defaulting to the side that changed it, the result shown live). The delete cases speak
// plainly (Restore my version / Accept delete, Delete anyway / Keep office version).

import { DecisionRefused, decide, undo } from "../decisions.js";
import { formatValue } from "../format.js";
import { href, navigate } from "../router.js";
import { CHANGE_LABELS, CHANGED_AGAIN_WORDS, SUPERSEDED_WORDS, defaultPicks, merged, threeWay } from "../threeway.js";
import { breakable, h, show } from "../ui.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {import("../ui.js").Screen} Screen
 * @typedef {import("../format.js").FieldDef} FieldDef
 * @typedef {import("../threeway.js").FieldRow} FieldRow
 * @typedef {import("../threeway.js").Picks} Picks
 * @typedef {import("../threeway.js").Change} Change
 * @typedef {ReturnType<typeof threeWay>} View
 */

/** The icon beside each label of who changed a field (the words carry the meaning). */
export const CHANGE_ICONS = { unchanged: "", mine: "✎", office: "⌂", same: "=", both: "⇄" };

/** A side of a conflict as the screen names it. */
export const SIDE_WORDS = { before: "Before", mine: "You", office: "Office" };

/**
 * @param {HTMLElement} view
 * @param {ScreenContext} ctx
 * @param {{id?: string}} route
 * @returns {Promise<Screen>}
 */
export async function render(view, ctx, route) {
  /** @type {Picks|null} */
  let picks = null;
  const id = route.id ?? "";
  let shownState = "";
  let seen = false;
  const draw = async () => {
    const conflict = (await ctx.store.allConflicts()).find((c) => c.id === id);
    const row = conflict ? await ctx.store.getRecord(conflict.entity, conflict.record_id) : null;
    // A sync writes the store often; redraw only when this conflict or its record changed,
    // so a merge being made keeps its focus.
    const state = JSON.stringify([conflict ?? null, row?.data ?? null, row?.rev ?? null, picks !== null]);
    if (state === shownState) return;
    shownState = state;
    if (!conflict) {
      // A conflict leaves the phone once settled: "Settled" only for one this screen showed.
      if (seen) show(view, backLink(), h("h1", {}, "Settled"), h("p", {}, "This conflict is settled already."));
      else show(view, backLink(), h("h1", {}, "Not found"), h("p", {}, "No conflict with this id is on this phone."));
      return;
    }
    seen = true;
    const entity = ctx.store.entity(conflict.entity);
    /** @type {FieldDef[]} */
    const fields = entity?.fields ?? [];
    const tw = threeWay(conflict, { mine: row?.data, order: fields.map((f) => f.name) });
    const title = row?.title || String(Object.values(conflict.server ?? conflict.device ?? {})[0] ?? "") || "(no name)";
    const ctxView = { fields, tw, title, ctx, conflict, draw, setPicks: (/** @type {Picks|null} */ p) => (picks = p) };
    show(view, ...(conflict.choice ? decidedView(ctxView) : openView(ctxView, picks)));
  };
  await draw();
  return { refresh: draw };
}

/**
 * @typedef {{fields: FieldDef[], tw: View, title: string, ctx: ScreenContext, conflict: any,
 *   draw: () => Promise<void>, setPicks: (picks: Picks|null) => void}} Drawn
 */

function backLink() {
  return h("a", { class: "back", href: href.errors() }, "‹ Sync errors");
}

/**
 * The conflict waiting for the user's decision.
 * @param {Drawn} d
 * @param {Picks|null} picks the merge being made, if any
 */
function openView(d, picks) {
  const { tw, conflict } = d;
  const status = h("p", { class: "field-error", role: "alert", hidden: true });
  /** @param {"device"|"server"|"merge"} choice @param {Picks} [chosen] */
  const choose = async (choice, chosen) => {
    try {
      await decide(d.ctx.store, conflict.id, choice, chosen);
      d.setPicks(null);
      navigate(href.errors());
    } catch (failure) {
      if (!(failure instanceof DecisionRefused)) throw failure;
      status.textContent = failure.message;
      status.hidden = false;
    }
  };
  return [
    backLink(),
    h("h1", {}, d.title),
    h("p", { class: "tw-what" }, h("span", { "aria-hidden": "true" }, "⚠ "), tw.what),
    conflict.superseded && superseded(conflict.superseded.previous_choice, tw),
    legend(),
    changedFields(d),
    unchangedFields(d),
    h(
      "div",
      { class: "actions tw-choices" },
      h("button", { type: "button", onclick: () => void choose("device") }, tw.choices.device),
      h("button", { type: "button", class: "secondary", onclick: () => void choose("server") }, tw.choices.server),
      tw.canMerge &&
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-expanded": picks ? "true" : "false",
            "aria-controls": "merge",
            id: "merge-button",
            onclick: async () => {
              d.setPicks(picks ? null : defaultPicks(tw.rows));
              await d.draw();
              document.getElementById(picks ? "merge-button" : "merge-title")?.focus();
            },
          },
          "Merge",
        ),
    ),
    status,
    picks && mergePanel(d, picks, (chosen) => void choose("merge", chosen)),
  ];
}

/**
 * Why a decided conflict came back: the office changed the record again.
 * @param {string|null} previous the choice the user had made (null: none yet)
 * @param {View} tw
 */
function superseded(previous, tw) {
  if (!previous) {
    return h(
      "div",
      { class: "callout info", role: "note" },
      h("strong", {}, `${CHANGED_AGAIN_WORDS}.`),
      " ",
      "The office's newest version is shown below.",
    );
  }
  const words = previous === "merge" ? "Merge" : tw.choices[previous === "server" ? "server" : "device"];
  return h(
    "div",
    { class: "callout info", role: "note" },
    h("strong", {}, `${SUPERSEDED_WORDS}.`),
    " ",
    `You had chosen “${words}”; the office's newest version is shown below.`,
  );
}

function legend() {
  return h(
    "p",
    { class: "tw-legend" },
    "Changed by: ",
    tag("mine"),
    " ",
    tag("office"),
    " ",
    tag("both"),
  );
}

/** The label of who changed a field: an icon and words. @param {Change} change */
export function tag(change) {
  return h(
    "span",
    { class: `tw-tag ${change}` },
    CHANGE_ICONS[change] && h("span", { "aria-hidden": "true" }, CHANGE_ICONS[change]),
    CHANGE_LABELS[change],
  );
}

/**
 * @param {FieldDef[]} fields
 * @param {string} name
 * @returns {FieldDef}
 */
function fieldOf(fields, name) {
  return fields.find((f) => f.name === name) ?? { name, type: "string", label: name };
}

/**
 * A value as the read view shows it; a side that deleted the record says so.
 * @param {FieldDef} field
 * @param {unknown} value
 * @param {boolean} deleted
 */
function shown(field, value, deleted) {
  return deleted ? "(deleted)" : formatValue(field, value);
}

/** The fields either side changed, each in three versions. @param {Drawn} d */
function changedFields(d) {
  const { tw, conflict } = d;
  if (tw.changed.length === 0) return h("p", { class: "muted" }, "No field differs.");
  const mineDeleted = tw.kind === "delete_update";
  const officeDeleted = Boolean(conflict.server_deleted);
  return h(
    "div",
    { class: "tw-fields" },
    ...tw.changed.map((row) => {
      const field = fieldOf(d.fields, row.name);
      return h(
        "section",
        { class: `tw-field ${row.change}`, "aria-label": field.label ?? row.name },
        h("h2", { class: "tw-name" }, field.label ?? row.name, " ", tag(row.change)),
        h(
          "dl",
          { class: "tw-values" },
          value(SIDE_WORDS.before, shown(field, row.before, false), false),
          value(SIDE_WORDS.mine, shown(field, row.mine, mineDeleted), row.change === "mine" || row.change === "both"),
          value(SIDE_WORDS.office, shown(field, row.office, officeDeleted), row.change === "office" || row.change === "both"),
        ),
      );
    }),
  );
}

/**
 * @param {string} side
 * @param {string} text
 * @param {boolean} changed
 */
function value(side, text, changed) {
  return h(
    "div",
    { class: changed ? "changed" : "" },
    h("dt", {}, side),
    h("dd", {}, breakable(text), changed && h("span", { class: "visually-hidden" }, " (changed)")),
  );
}

/** The fields nobody changed, collapsed. @param {Drawn} d */
function unchangedFields(d) {
  const rows = d.tw.unchanged;
  if (rows.length === 0) return null;
  return h(
    "details",
    { class: "tw-unchanged" },
    h("summary", {}, `Unchanged fields (${rows.length})`),
    h(
      "dl",
      { class: "fields" },
      ...rows.map((row) => {
        const field = fieldOf(d.fields, row.name);
        return h("div", {}, h("dt", {}, field.label ?? row.name), h("dd", {}, formatValue(field, row.before ?? row.office ?? row.mine)));
      }),
    ),
  );
}

/**
 * Merge: a side per differing field, the merged record shown live.
 * @param {Drawn} d
 * @param {Picks} picks
 * @param {(picks: Picks) => void} apply
 */
function mergePanel(d, picks, apply) {
  const rows = d.tw.changed.filter((row) => row.change !== "same");
  const result = h("dl", { class: "fields tw-result", "aria-live": "polite" });
  const drawResult = () => {
    const values = merged(d.tw.rows, picks);
    result.replaceChildren(
      ...d.tw.changed.map((row) => {
        const field = fieldOf(d.fields, row.name);
        return h("div", {}, h("dt", {}, field.label ?? row.name), h("dd", {}, formatValue(field, values[row.name])));
      }),
    );
  };
  drawResult();
  return h(
    "section",
    { id: "merge", class: "tw-merge", "aria-labelledby": "merge-title" },
    h("h2", { id: "merge-title", tabindex: "-1" }, "Merge: choose per field"),
    ...rows.map((row) => pickFieldset(fieldOf(d.fields, row.name), row, picks, drawResult)),
    h("h3", {}, "Result"),
    result,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => apply({ ...picks }) }, "Use this merge")),
  );
}

/**
 * Two radios for one field: mine or the office's.
 * @param {FieldDef} field
 * @param {FieldRow} row
 * @param {Picks} picks changed in place
 * @param {() => void} changed
 */
function pickFieldset(field, row, picks, changed) {
  const name = `pick-${row.name}`;
  /** @param {"device"|"server"} side @param {string} words @param {unknown} v */
  const option = (side, words, v) =>
    h(
      "label",
      { class: "tw-pick" },
      h("input", {
        type: "radio",
        name,
        value: side,
        checked: (picks[row.name] ?? row.pick) === side,
        onchange: () => {
          picks[row.name] = side;
          changed();
        },
      }),
      h("span", {}, `${words}: `, breakable(formatValue(field, v))),
    );
  return h(
    "fieldset",
    { class: "tw-pickset" },
    h("legend", {}, field.label ?? row.name, " ", tag(row.change)),
    option("device", "Mine", row.mine),
    option("server", "Office's", row.office),
  );
}

/**
 * A decided conflict: what was chosen, sent at the next sync, with Undo until then.
 * @param {Drawn} d
 */
function decidedView(d) {
  const { conflict, tw } = d;
  const status = h("p", { class: "field-error", role: "alert", hidden: true });
  const undoIt = async () => {
    try {
      await undo(d.ctx.store, conflict.id);
    } catch (failure) {
      if (!(failure instanceof DecisionRefused)) throw failure;
      status.textContent = failure.message;
      status.hidden = false;
    }
  };
  return [
    backLink(),
    h("h1", {}, d.title),
    h("p", { class: "tw-what" }, tw.what),
    h("p", { class: "callout info" }, `Decided: ${choiceWords(conflict.choice, tw)} — sent at the next sync.`),
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => void undoIt() }, "Undo")),
    status,
  ];
}

/**
 * A choice in the words of its button.
 * @param {string} choice
 * @param {{choices: {device: string, server: string}}} tw
 */
export function choiceWords(choice, tw) {
  if (choice === "merge") return "Merge";
  return choice === "server" ? tw.choices.server : tw.choices.device;
}
