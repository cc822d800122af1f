/**
 * The three-way view of a conflict: for each field, the value before (base), mine (D,
 * the record on this phone) and the office's (S, the server's), who changed it, and the
 * side a merge takes by default. Pure: no DOM, no IndexedDB, so every case is unit-tested.
 *
 * A field changed on one side only is that side's change and a merge takes it from
 * there; a field both sides changed to different values is the question (default: mine);
 * a field both changed to the same value is no question at all.
 */

/** @typedef {Record<string, unknown>} Values */
/** @typedef {"update_update"|"update_delete"|"delete_update"} Kind */
/** @typedef {"device"|"server"|"merge"} Choice */
/** @typedef {"device"|"server"} Side */
/** @typedef {Record<string, Side>} Picks */
/**
 * Who changed a field since base: nobody, me only, the office only, both alike, both differently.
 * @typedef {"unchanged"|"mine"|"office"|"same"|"both"} Change
 */
/**
 * @typedef {object} FieldRow
 * @property {string} name
 * @property {unknown} before
 * @property {unknown} mine
 * @property {unknown} office
 * @property {Change} change
 * @property {Side} pick the side a merge takes by default
 */
/**
 * The parts of a stored conflict this module reads.
 * @typedef {object} ConflictLike
 * @property {string} kind
 * @property {Values|null} base
 * @property {Values|null} device
 * @property {Values|null} server
 * @property {boolean} server_deleted
 */

/** Labels shown beside a changed field: never colour alone. */
export const CHANGE_LABELS = /** @type {const} */ ({
  unchanged: "unchanged",
  mine: "you",
  office: "office",
  same: "both, same value",
  both: "both",
});

/** What happened, in plain words, per kind of conflict. */
export const WHAT_HAPPENED = /** @type {const} */ ({
  update_update: "You and the office both changed this record.",
  update_delete: "You changed this record; the office deleted it.",
  delete_update: "You deleted this record; the office changed it.",
});

/** The two buttons of each kind of conflict, in plain words. */
export const CHOICE_WORDS = /** @type {const} */ ({
  update_update: { device: "Use my version", server: "Use office version" },
  update_delete: { device: "Restore my version", server: "Accept delete" },
  delete_update: { device: "Delete anyway", server: "Keep office version" },
});

/** Shown on a conflict whose decision the office overtook before it was sent. */
export const SUPERSEDED_WORDS = "The office changed this again after you decided: check again";

/** Shown on a conflict the office changed again before the user decided anything. */
export const CHANGED_AGAIN_WORDS = "The office changed this again: check again";

/**
 * The words for a superseded conflict: "after you decided" only when the user had.
 * @param {{previous_choice: string|null}} superseded
 */
export function supersededWords(superseded) {
  return superseded.previous_choice ? SUPERSEDED_WORDS : CHANGED_AGAIN_WORDS;
}

/**
 * True when two field values are the same (JSON values: scalars, and rarely lists).
 * @param {unknown} a
 * @param {unknown} b
 */
export function same(a, b) {
  if (a === b) return true;
  if (a === undefined || b === undefined) return (a ?? null) === (b ?? null);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Who changed a field: compared with base when it is known, else every difference is both's.
 * @param {Values|null} base
 * @param {Values|null} mine null when deleted on this phone
 * @param {Values|null} office null when deleted at the office
 * @param {string} name
 * @returns {Change}
 */
export function changeOf(base, mine, office, name) {
  const before = base?.[name];
  const mineChanged = mine !== null && (base === null || !same(before, mine[name]));
  const officeChanged = office !== null && (base === null || !same(before, office[name]));
  if (mine !== null && office !== null && same(mine[name], office[name])) {
    return base !== null && !same(before, mine[name]) ? "same" : "unchanged";
  }
  if (mineChanged && officeChanged) return "both";
  if (mineChanged) return "mine";
  return officeChanged ? "office" : "unchanged";
}

/**
 * The side a merge takes a field from by default: the side that changed it, mine when both did.
 * @param {Change} change
 * @returns {Side}
 */
export function defaultPick(change) {
  return change === "office" || change === "unchanged" || change === "same" ? "server" : "device";
}

/**
 * The field names of the three versions, in the entity's order when given.
 * @param {Array<Values|null>} versions
 * @param {string[]} [order]
 */
function fieldNames(versions, order = []) {
  const names = new Set(order);
  for (const values of versions) for (const name of Object.keys(values ?? {})) names.add(name);
  return [...names].filter((name) => versions.some((v) => v !== null && name in v));
}

/**
 * One row per field: before, mine, office, who changed it and the default pick.
 * @param {Values|null} base
 * @param {Values|null} mine
 * @param {Values|null} office
 * @param {string[]} [order] the entity's field order
 * @returns {FieldRow[]}
 */
export function fieldRows(base, mine, office, order) {
  return fieldNames([base, mine, office], order).map((name) => {
    const change = changeOf(base, mine, office, name);
    return {
      name,
      before: base?.[name] ?? null,
      mine: mine?.[name] ?? null,
      office: office?.[name] ?? null,
      change,
      pick: defaultPick(change),
    };
  });
}

/**
 * The three-way view of a conflict. `mine` is the record on this phone now (it may have
 * been edited again since the conflict was met); without it, the conflict's D.
 * @param {ConflictLike} conflict
 * @param {{mine?: Values|null, order?: string[]}} [options]
 */
export function threeWay(conflict, options = {}) {
  const kind = kindOf(conflict.kind);
  const mine = kind === "delete_update" ? null : (options.mine ?? conflict.device);
  const office = conflict.server_deleted ? null : conflict.server;
  const rows = fieldRows(conflict.base, mine, office, options.order);
  return {
    kind,
    what: WHAT_HAPPENED[kind],
    choices: CHOICE_WORDS[kind],
    canMerge: kind === "update_update" && mine !== null && office !== null,
    rows,
    changed: rows.filter((row) => row.change !== "unchanged"),
    unchanged: rows.filter((row) => row.change === "unchanged"),
    questions: rows.filter((row) => row.change === "both"),
  };
}

/**
 * A known kind of conflict; an unknown one reads as both sides' updates.
 * @param {string} kind
 * @returns {Kind}
 */
export function kindOf(kind) {
  return kind === "update_delete" || kind === "delete_update" ? kind : "update_update";
}

/**
 * The picks a merge starts with: each field from the side that changed it.
 * @param {FieldRow[]} rows
 * @returns {Picks}
 */
export function defaultPicks(rows) {
  /** @type {Picks} */
  const picks = {};
  for (const row of rows) if (row.change !== "unchanged") picks[row.name] = row.pick;
  return picks;
}

/**
 * The record a merge makes: each field from the side picked for it (its default otherwise).
 * @param {FieldRow[]} rows
 * @param {Picks} picks
 * @returns {Values}
 */
export function merged(rows, picks) {
  /** @type {Values} */
  const values = {};
  for (const row of rows) values[row.name] = (picks[row.name] ?? row.pick) === "device" ? row.mine : row.office;
  return values;
}

/**
 * What a choice does to a record of a kind of conflict: it keeps mine, keeps the
 * office's, or leaves the record deleted from this phone.
 * @param {string} kind
 * @param {Choice} choice
 * @returns {"mine"|"office"|"deleted"}
 */
export function outcome(kind, choice) {
  const known = kindOf(kind);
  if (choice === "merge") return "mine";
  if (known === "update_delete") return choice === "device" ? "mine" : "deleted";
  if (known === "delete_update") return choice === "device" ? "deleted" : "office";
  return choice === "device" ? "mine" : "office";
}

/**
 * The summary of one choice applied to all these conflicts.
 * @param {Array<{kind: string}>} conflicts
 * @param {Choice} choice
 */
export function summary(conflicts, choice) {
  const counts = { mine: 0, office: 0, deleted: 0 };
  for (const conflict of conflicts) counts[outcome(conflict.kind, choice)] += 1;
  return { ...counts, text: summaryText(counts) };
}

/**
 * "2 keep mine, 1 keeps the office's, 1 deleted from this phone" (parts of zero left out).
 * @param {{mine: number, office: number, deleted: number}} counts
 */
export function summaryText({ mine, office, deleted }) {
  const parts = [];
  if (mine) parts.push(`${mine} ${mine === 1 ? "keeps" : "keep"} mine`);
  if (office) parts.push(`${office} ${office === 1 ? "keeps" : "keep"} the office's`);
  if (deleted) parts.push(`${deleted} deleted from this phone`);
  return parts.length ? parts.join(", ") : "Nothing to decide";
}
