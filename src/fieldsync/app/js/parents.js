// Changes refused only because of their parent, sent again once the parent's change is
// (as the Python device's parents.py does). The server refuses a change whose lookup
// points at a parent it cannot take now: one in an open conflict, deleted on the
// server, rejected, or missing. Nothing is wrong with the child itself, so it does not
// wait for the user: it goes again in the push that sends its parent's next change, or
// once the parent is settled on the device. Until then it stays in Sync errors with the
// server's reason.

/** The refusals that name a parent rather than the change itself. */
export const PARENT_REFUSALS = new Set([
  "missing_parent",
  "parent_deleted",
  "parent_conflict",
  "parent_rejected",
]);

/**
 * The parent ("entity:id") a refused row was refused for alone, if it was.
 * @param {import("./changes.js").EntityDef[]} entities the project's entities
 * @param {{entity: string, error: any}} row
 * @returns {string|null}
 */
export function parentOf(entities, row) {
  const error = row.error;
  const details = error?.details;
  if (!PARENT_REFUSALS.has(error?.code) || typeof details !== "object" || details === null) {
    return null;
  }
  const entity = entities.find((e) => e.name === row.entity);
  const lookup = entity?.fields.find((f) => f.name === String(details.field));
  if (!lookup?.target) return null;
  return `${lookup.target}:${String(details.parent)}`;
}

/**
 * True when the device holds a record as the server has it, not deleted.
 * @param {{state: string, data: unknown}|null|undefined} row
 */
export function settledHere(row) {
  return Boolean(row?.data) && row?.state === "synced";
}
