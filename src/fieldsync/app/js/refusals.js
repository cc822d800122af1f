/**
 * Why the server refused a change, in a field worker's words, and the actions that can
 * succeed from there. Pure: no DOM, no IndexedDB.
 *
 * "fix" opens the form at the field named; "discard" returns the record to the server's
 * state; "retry" sends it again as it is, offered only where sending it again can work
 * (a refusal that the same values would meet again offers no retry).
 */

/** @typedef {{code: string, message: string, field?: string, details?: unknown}} RefusalError */
/** @typedef {{name: string, label?: string, type?: string, target?: string|null}} FieldDef */
/** @typedef {{name: string, label?: string, fields: FieldDef[]}} EntityDef */
/** @typedef {"fix"|"discard"|"retry"} Action */
/**
 * @typedef {object} Refusal
 * @property {string} cause the sentence shown
 * @property {string|null} field the field to fix, if one is at fault
 * @property {Action[]} actions
 */

/** Refusals whose field the worker can correct in the form. */
const FIXABLE = new Set(["too_long", "required", "wrong_type", "not_an_option", "out_of_range", "missing_parent", "parent_deleted"]);

/** Refusals that the same values meet again: no retry. */
const FINAL = new Set([
  ...FIXABLE,
  "unknown_field",
  "no_permission",
  "not_found",
  "already_exists",
  "entity_not_synced",
  "parent_rejected",
  "parent_conflict",
]);

/**
 * @param {unknown} details
 * @returns {Record<string, unknown>}
 */
function detailsOf(details) {
  return details !== null && typeof details === "object" ? /** @type {Record<string, unknown>} */ (details) : {};
}

/**
 * @param {EntityDef|null} entity
 * @param {string|null} name
 */
function fieldDef(entity, name) {
  return entity?.fields.find((f) => f.name === name) ?? null;
}

/**
 * @param {string} text
 */
function capitalized(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The sentence for a refusal.
 * @param {string} code
 * @param {string} label the field's label
 * @param {Record<string, unknown>} details
 * @param {{entity: string, parent: string}} names the record's and its parent's kind, in lower case
 */
function sentence(code, label, details, names) {
  const sentences = /** @type {Record<string, string>} */ ({
    too_long: `${label} is too long for the server's ${String(details.max_length)} characters.`,
    required: `${label} is required: fill it in.`,
    wrong_type: `${label} has a value of the wrong kind.`,
    out_of_range: `${label} is too large a number for the server.`,
    not_an_option: `${label} is not one of its choices any more.`,
    unknown_field: "A field of this record no longer exists on the server.",
    missing_parent: `Its ${names.parent} does not exist on the server.`,
    parent_deleted: `Its ${names.parent} was deleted on the server.`,
    parent_rejected: `Its ${names.parent}'s change was refused: settle that first.`,
    parent_conflict: `Its ${names.parent} has an open conflict: it is sent again once that is settled.`,
    no_permission: `You may not change this ${names.entity}.`,
    not_found: `This ${names.entity} no longer exists on the server.`,
    already_exists: `A ${names.entity} with the same id already exists on the server.`,
    entity_not_synced: `${capitalized(names.entity)} records are not synced to phones any more.`,
  });
  return sentences[code];
}

/**
 * The cause of a refusal and the actions that can succeed.
 * @param {RefusalError} error the server's error, as kept on the record
 * @param {EntityDef|null} entity the record's entity in the project
 * @param {EntityDef[]} [entities] the project's entities, to name a parent
 * @returns {Refusal}
 */
export function refusal(error, entity, entities = []) {
  const details = detailsOf(error.details);
  const name = typeof details.field === "string" ? details.field : (error.field ?? null);
  const fdef = fieldDef(entity, name);
  const parent = entities.find((e) => e.name === fdef?.target);
  const names = {
    entity: (entity?.label ?? entity?.name ?? "record").toLowerCase(),
    parent: (parent?.label ?? fdef?.target ?? "parent record").toLowerCase(),
  };
  const cause = sentence(error.code, fdef?.label ?? name ?? "A field", details, names) ?? error.message;
  const fixable = FIXABLE.has(error.code) && fdef !== null;
  /** @type {Action[]} */
  const actions = fixable ? ["fix", "discard"] : ["discard"];
  if (!FINAL.has(error.code)) actions.push("retry");
  return { cause, field: fixable ? (fdef?.name ?? null) : null, actions };
}
