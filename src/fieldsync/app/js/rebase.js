// Local records brought onto new server states without losing edits made meanwhile
// (as the Python device's rebase.py does). A row not edited since its values were sent
// (the same `rev`) simply becomes the server state; otherwise the edits made since are
// laid over the server state and stay pending, based on the server's new version.
// A conflict a console resolved names two server states, the one its resolution wrote
// and the newest: edits made while it was open are based on the first, so that an
// office change made after the resolution meets them under the entity's policy.
// Pure functions over rows: the caller reads and writes them.

import { differing } from "./changes.js";

/**
 * @typedef {import("./changes.js").Values} Values
 * @typedef {{version: number|null, record: Values|null, deleted: boolean}} ServerState
 * @typedef {{rev: number, data: Values|null}} Sent what was sent of a row, and its rev then
 * @typedef {Record<string, any> & {entity: string, id: string}} Row
 */

/** The fields that say a row has something unsynced, cleared once it is settled. */
const UNSYNCED = {
  error: null,
  conflict_id: null,
  server_version: null,
  server_data: null,
  server_deleted: null,
};

/**
 * A row as the server state makes it (null: no row, the record is deleted there).
 * @param {string} entity
 * @param {string} id
 * @param {Row|null} row the row as it is, if any (keeps its rev and seq)
 * @param {ServerState} server
 * @returns {Row|null}
 */
export function synced(entity, id, row, server) {
  if (server.deleted || !server.record) return null;
  return {
    rev: 0,
    seq: 0,
    ...row,
    ...UNSYNCED,
    entity,
    id,
    base_version: server.version,
    base: null,
    data: server.record,
    state: "synced",
  };
}

/**
 * What a row becomes once a pull brings its server state: a synced row (or none) takes
 * it; a row with unsynced changes keeps them and remembers the server state beside them
 * (so a discarded change falls back to what the server has now).
 * @param {Row|null} row
 * @param {ServerState & {entity: string, id: string}} server
 * @returns {Row|null}
 */
export function layOver(row, server) {
  if (!row || row.state === "synced") return synced(server.entity, server.id, row, server);
  return {
    ...row,
    server_version: server.version,
    server_data: server.record,
    server_deleted: server.deleted,
  };
}

/**
 * What a row becomes once the server settled the change sent of it (`sent`): the server
 * state if it was not edited since, else its newer edits laid over the server state.
 * @param {string} entity
 * @param {string} id
 * @param {Row|null} row the row as it is now (null: created, then deleted here meanwhile)
 * @param {Sent} sent
 * @param {ServerState} server
 * @returns {Row|null}
 */
export function settle(entity, id, row, sent, server) {
  if (row && row.rev === sent.rev) return synced(entity, id, row, server);
  const gone = server.deleted
    ? null
    : deletedHere(entity, id, row, server.version, server.record);
  if (!row?.data) return gone;
  return rebased(row, sent, server);
}

/**
 * What a row becomes once a console resolved its conflict (`sent`: the row as the
 * conflict kept it): the newest server state if it was not edited since; else its edits
 * based on the state the resolution wrote, with the newest kept beside them (a discard
 * falls back to it). A row left with nothing to send takes the newest state.
 * @param {string} entity
 * @param {string} id
 * @param {Row|null} row
 * @param {Sent} sent
 * @param {ServerState} resolution
 * @param {ServerState} newest
 * @returns {Row|null}
 */
export function settleResolved(entity, id, row, sent, resolution, newest) {
  if (row && row.rev === sent.rev) return synced(entity, id, row, newest);
  const next = settle(entity, id, row, sent, resolution);
  if (!next || next.state === "synced") return synced(entity, id, next ?? row, newest);
  if (newest.version === resolution.version) return next;
  return {
    ...next,
    server_version: newest.version,
    server_data: newest.record,
    server_deleted: newest.deleted,
  };
}

/**
 * A row deleted here while its change was on its way: the delete stays pending, now
 * based on the server's version.
 * @param {string} entity
 * @param {string} id
 * @param {Row|null} row
 * @param {number|null} version
 * @param {Values|null} values
 * @returns {Row}
 */
function deletedHere(entity, id, row, version, values) {
  const rev = row?.rev ?? 1;
  const seq = row?.seq ?? 0;
  return {
    ...row,
    ...UNSYNCED,
    entity,
    id,
    rev,
    seq,
    base_version: version,
    base: values,
    data: null,
    state: "deleted",
  };
}

/**
 * A row edited here since it was sent: its edits since then over the server's values.
 * @param {Row} row
 * @param {Sent} sent
 * @param {ServerState} server
 * @returns {Row}
 */
function rebased(row, sent, server) {
  const local = /** @type {Values} */ (row.data);
  const values = server.record ?? {};
  /** @type {Values} */
  const merged = { ...values };
  for (const name of differing(sent.data ?? {}, local)) merged[name] = local[name];
  const pending = server.deleted || differing(values, merged).length > 0;
  return {
    ...row,
    ...UNSYNCED,
    base_version: server.version,
    base: pending ? values : null,
    data: merged,
    state: pending ? "updated" : "synced",
  };
}
