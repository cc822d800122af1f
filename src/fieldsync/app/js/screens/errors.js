// Sync errors: the open conflicts (with "Apply to all", which says what it will do and
// asks first), the refused changes with their real cause and only the actions that can
// succeed, the decisions waiting for the next sync (with Undo until sent), and the recent
// notices of values a policy replaced.

import { DecisionRefused, decideAll, discard, retry, summarize, undo } from "../decisions.js";
import { formatDateTime } from "../format.js";
import { refusal } from "../refusals.js";
import { href, navigate } from "../router.js";
import { supersededWords, threeWay } from "../threeway.js";
import { confirmDialog, h, show } from "../ui.js";
import { choiceWords } from "./conflict.js";
import { noticeList } from "./notices.js";

/**
 * @typedef {import("../ui.js").ScreenContext} ScreenContext
 * @typedef {import("../ui.js").Screen} Screen
 * @typedef {import("../store.js").Row} Row
 */

/**
 * @param {HTMLElement} view
 * @param {ScreenContext} ctx
 * @returns {Promise<Screen>}
 */
export async function render(view, ctx) {
  const status = h("p", { class: "field-error", role: "alert", hidden: true });
  /** @param {() => Promise<unknown>} action */
  const act = async (action) => {
    status.hidden = true;
    try {
      await action();
    } catch (failure) {
      if (!(failure instanceof DecisionRefused)) throw failure;
      status.textContent = failure.message;
      status.hidden = false;
    }
  };
  let shownState = "";
  const draw = async () => {
    const store = ctx.store;
    const [conflicts, refused, notices] = await Promise.all([store.allConflicts(), store.refusedRecords(), store.notices()]);
    // A sync writes the store often; redraw only when what this screen shows changed.
    const state = JSON.stringify([conflicts, refused.map((r) => [r.entity, r.id, r.rev, r.error, r.title]), notices]);
    if (state === shownState) return;
    shownState = state;
    const open = conflicts.filter((c) => !c.choice);
    const decided = conflicts.filter((c) => c.choice);
    const titles = await titlesOf(ctx, conflicts);
    const nothing = open.length + refused.length + decided.length === 0;
    show(
      view,
      h("h1", {}, "Sync errors"),
      status,
      nothing && h("p", { class: "empty" }, "No sync errors. Everything on this phone agrees with the server."),
      open.length > 0 && openSection(ctx, open, titles, act),
      refused.length > 0 && refusedSection(ctx, refused, act),
      decided.length > 0 && decidedSection(decided, titles, (id) => act(() => undo(store, id))),
      noticeList(ctx, notices),
    );
  };
  await draw();
  return { refresh: draw };
}

/**
 * The record titles of conflicts, by conflict id.
 * @param {ScreenContext} ctx
 * @param {any[]} conflicts
 */
async function titlesOf(ctx, conflicts) {
  /** @type {Map<string, string>} */
  const titles = new Map();
  for (const c of conflicts) {
    const row = await ctx.store.getRecord(c.entity, c.record_id);
    const values = c.server ?? c.device ?? {};
    titles.set(c.id, row?.title || String(Object.values(values).find((v) => typeof v === "string" && v) ?? "(no name)"));
  }
  return titles;
}

/**
 * @param {ScreenContext} ctx
 * @param {any[]} open
 * @param {Map<string, string>} titles
 * @param {(action: () => Promise<unknown>) => Promise<void>} act
 */
function openSection(ctx, open, titles, act) {
  /** @param {"device"|"server"} choice */
  const applyAll = async (choice) => {
    const { text } = await summarize(ctx.store, choice);
    const words = choice === "device" ? "Keep mine" : "Keep the office's";
    if (!(await confirmDialog(`${words} for all ${open.length} conflicts: ${text}. Apply?`, "Apply to all"))) return;
    await act(() => decideAll(ctx.store, choice));
  };
  return h(
    "section",
    { "aria-labelledby": "open-title" },
    h("h2", { id: "open-title" }, `Conflicts — need you (${open.length})`),
    h(
      "ul",
      { class: "cards" },
      ...open.map((c) => {
        const entity = ctx.store.entity(c.entity);
        return h(
          "li",
          {},
          h(
            "a",
            { class: "card", href: href.conflict(c.id) },
            h("span", { class: "title" }, titles.get(c.id) ?? ""),
            h("span", { class: "sub" }, `${entity?.label ?? c.entity} · ${threeWay(c).what}`),
            c.superseded && h("span", { class: "mark conflict" }, h("span", { "aria-hidden": "true" }, "↻"), supersededWords(c.superseded)),
          ),
        );
      }),
    ),
    open.length > 1 &&
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => void applyAll("device") }, "Keep mine for all"),
        h("button", { type: "button", class: "secondary", onclick: () => void applyAll("server") }, "Keep the office's for all"),
      ),
  );
}

/**
 * @param {ScreenContext} ctx
 * @param {Row[]} refused
 * @param {(action: () => Promise<unknown>) => Promise<void>} act
 */
function refusedSection(ctx, refused, act) {
  const entities = ctx.store.project()?.entities ?? [];
  return h(
    "section",
    { "aria-labelledby": "refused-title" },
    h("h2", { id: "refused-title" }, `Refused by the server (${refused.length})`),
    h(
      "ul",
      { class: "cards" },
      ...refused.map((row) => {
        const entity = ctx.store.entity(row.entity);
        const found = refusal(row.error ?? { code: "", message: "" }, entity, entities);
        const field = entity?.fields.find((f) => f.name === found.field);
        /** @type {Record<string, HTMLElement>} */
        const buttons = {
          fix: h("button", { type: "button", onclick: () => navigate(href.edit(row.entity, row.id)) }, `Fix ${field?.label ?? "it"}`),
          discard: h(
            "button",
            {
              type: "button",
              class: "danger",
              onclick: async () => {
                if (await confirmDialog("Discard your change and go back to the server's version?", "Discard my change")) {
                  await act(() => discard(ctx.store, row.entity, row.id));
                }
              },
            },
            "Discard my change",
          ),
          retry: h("button", { type: "button", class: "secondary", onclick: () => void act(() => retry(ctx.store, row.entity, row.id)) }, "Retry"),
        };
        return h(
          "li",
          { class: "refused" },
          h(
            "div",
            { class: "card" },
            row.data
              ? h("a", { class: "title", href: href.record(row.entity, row.id) }, row.title || "(no name)")
              : h("span", { class: "title" }, row.title || "(no name)"),
            h("span", { class: "sub" }, entity?.label ?? row.entity),
            h("p", { class: "cause" }, h("span", { "aria-hidden": "true" }, "⊘ "), found.cause),
            h("div", { class: "actions" }, ...found.actions.map((a) => buttons[a])),
          ),
        );
      }),
    ),
  );
}

/**
 * @param {any[]} decided
 * @param {Map<string, string>} titles
 * @param {(id: string) => Promise<void>} onUndo
 */
function decidedSection(decided, titles, onUndo) {
  return h(
    "section",
    { "aria-labelledby": "decided-title" },
    h("h2", { id: "decided-title" }, "Decided — sent at the next sync"),
    h(
      "ul",
      { class: "cards" },
      ...decided.map((c) =>
        h(
          "li",
          { class: "decided" },
          h(
            "div",
            { class: "card" },
            h("span", { class: "title" }, titles.get(c.id) ?? ""),
            h("span", { class: "sub" }, `${choiceWords(c.choice, threeWay(c))} · ${formatDateTime(c.decided_at ?? "")}`),
            h(
              "div",
              { class: "actions" },
              h("button", { type: "button", class: "secondary", "aria-label": `Undo: ${titles.get(c.id) ?? ""}`, onclick: () => void onUndo(c.id) }, "Undo"),
            ),
          ),
        ),
      ),
    ),
  );
}
