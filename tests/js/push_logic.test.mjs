// The push's pure logic, run by `node --test tests/js/`: the changes a pending row
// makes, a merge from the user's picks, parents before children, batches' limits,
// rebase of rows edited while their change was on its way, and what results write.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BATCH_BYTES,
  batchBody,
  batchLength,
  changeOf,
  inPushOrder,
  mergeFields,
  parentRanks,
} from "../../src/fieldsync/app/js/changes.js";
import { parentOf } from "../../src/fieldsync/app/js/parents.js";
import { layOver, settle, settleResolved } from "../../src/fieldsync/app/js/rebase.js";
import { plan, resultsOf } from "../../src/fieldsync/app/js/results.js";

const BASE = { name: "Acme", city: "Bratislava", phone: "1" };

/** @param {Record<string, any>} over */
function row(over) {
  return {
    entity: "account",
    id: "a1",
    base_version: 3,
    base: BASE,
    data: { ...BASE, city: "Kosice" },
    state: "updated",
    rev: 2,
    seq: 5,
    error: null,
    conflict_id: null,
    ...over,
  };
}

const ENTITIES = [
  { name: "appointment", fields: [{ name: "contact", type: "lookup", target: "contact" }] },
  {
    name: "contact",
    fields: [
      { name: "account", type: "lookup", target: "account" },
      { name: "manager", type: "lookup", target: "contact" },
    ],
  },
  { name: "account", fields: [{ name: "name", type: "string" }] },
];

test("an update sends the fields changed against base, all of D and base", () => {
  const change = changeOf(row({}), "b.0", null);
  assert.equal(change.op, "update");
  assert.deepEqual(change.fields, { city: "Kosice" });
  assert.deepEqual(change.record, { ...BASE, city: "Kosice" });
  assert.deepEqual(change.base, BASE);
  assert.equal(change.base_version, 3);
  assert.equal(change.resolves, undefined);
});

test("a create sends every field and no base; a delete sends no field", () => {
  const created = changeOf(row({ state: "created", base: null, base_version: null }), "b.0", null);
  assert.equal(created.op, "create");
  assert.deepEqual(created.fields, created.record);
  assert.equal(created.base, null);
  const deleted = changeOf(row({ state: "deleted", data: null }), "b.1", null);
  assert.equal(deleted.op, "delete");
  assert.deepEqual(deleted.fields, {});
  assert.equal(deleted.record, null);
});

test("a field D lacks is not the device's change (the project dropped it)", () => {
  const change = changeOf(row({ data: { name: "Acme", city: "Kosice" } }), "b.0", null);
  assert.deepEqual(change.fields, { city: "Kosice" });
});

test("a decided merge is made at push time from the picks over the record as it is", () => {
  const server = { ...BASE, city: "Zilina", phone: "2" };
  // Edited again after deciding: the phone, which the user picked from the device.
  const data = { ...BASE, city: "Kosice", phone: "3" };
  const decision = {
    id: "c1",
    choice: "merge",
    picks: { city: "server", phone: "device" },
    server,
    server_version: 7,
  };
  const change = changeOf(row({ data, conflict_id: "c1" }), "b.0", decision);
  assert.equal(change.resolves, "c1");
  assert.equal(change.resolution, "merge");
  assert.equal(change.base_version, 7);
  assert.deepEqual(change.record, { name: "Acme", city: "Zilina", phone: "3" });
  assert.deepEqual(change.merged_from, data);
  assert.deepEqual(change.fields, { city: "Zilina", phone: "3" });
});

test("a field without a pick comes from the side that changed it", () => {
  const base = { a: 0, b: 0, c: 0, d: 0 };
  const device = { a: 1, b: 2, c: 0, d: 4 };
  const server = { a: 5, b: 6, c: 7, d: 0 };
  // a: both changed, not picked: the server's; b: picked; c: the server's change; d: ours.
  const merged = mergeFields(device, server, { b: "device" }, base);
  assert.deepEqual(merged, { a: 5, b: 2, c: 7, d: 4 });
});

test("parents are pushed before children, then in the order of the edits", () => {
  const ranks = parentRanks(ENTITIES);
  assert.deepEqual(
    [ranks.get("account"), ranks.get("contact"), ranks.get("appointment")],
    [0, 1, 2],
  );
  const rows = [
    { entity: "appointment", seq: 1 },
    { entity: "contact", seq: 3 },
    { entity: "account", seq: 4 },
    { entity: "contact", seq: 2 },
  ];
  const order = inPushOrder(rows, ranks).map((r) => `${r.entity}${r.seq}`);
  assert.deepEqual(order, ["account4", "contact2", "contact3", "appointment1"]);
});

test("a batch holds 1,000 changes at most, and 4 MB unless one change is larger", () => {
  assert.equal(batchLength(Array(1500).fill("{}")), 1000);
  const big = "x".repeat(BATCH_BYTES / 2 + 1);
  assert.equal(batchLength([big, big, big]), 1);
  assert.equal(batchLength(["x".repeat(BATCH_BYTES + 1), "{}"]), 1);
  const body = JSON.parse(batchBody("d", "b", ['{"a":1}', '{"b":2}']));
  assert.deepEqual(body, { device_id: "d", batch_id: "b", changes: [{ a: 1 }, { b: 2 }] });
});

test("a child refused for its parent names that parent", () => {
  const error = { code: "parent_conflict", message: "…", details: { field: "account", parent: "p1" } };
  assert.equal(parentOf(ENTITIES, { entity: "contact", error }), "account:p1");
  const own = { code: "too_long", message: "…", details: { field: "account" } };
  assert.equal(parentOf(ENTITIES, { entity: "contact", error: own }), null);
});

test("a row not edited since it was sent takes the server state", () => {
  const server = { version: 4, record: { ...BASE, city: "Kosice", phone: "9" }, deleted: false };
  const sent = { rev: 2, data: row({}).data };
  const next = settle("account", "a1", row({}), sent, server);
  assert.equal(next?.state, "synced");
  assert.equal(next?.base_version, 4);
  assert.deepEqual(next?.data, server.record);
});

test("a row edited while its change was on its way keeps the edit over the server state", () => {
  const sent = { rev: 2, data: { ...BASE, city: "Kosice" } };
  const now = row({ rev: 3, seq: 9, data: { ...BASE, city: "Kosice", phone: "5" } });
  const server = { version: 4, record: { ...BASE, city: "Kosice", name: "ACME" }, deleted: false };
  const next = settle("account", "a1", now, sent, server);
  assert.equal(next?.state, "updated");
  assert.equal(next?.base_version, 4);
  assert.deepEqual(next?.base, server.record);
  assert.deepEqual(next?.data, { name: "ACME", city: "Kosice", phone: "5" });
  assert.equal(next?.seq, 9);
});

test("an edit made while a conflict was open is based on what its resolution wrote", () => {
  const sent = { rev: 2, data: { ...BASE, city: "Kosice" } }; // D, as the conflict kept it
  const now = row({ rev: 3, data: { ...BASE, city: "Kosice", phone: "5" } });
  const resolution = { version: 4, record: { ...BASE, city: "Zilina" }, deleted: false };
  const newest = { version: 6, record: { ...BASE, city: "Zilina", phone: "7" }, deleted: false };
  const next = settleResolved("account", "a1", now, sent, resolution, newest);
  assert.equal(next?.state, "updated");
  assert.equal(next?.base_version, 4); // so the push meets the office's version 6
  assert.deepEqual(next?.base, resolution.record);
  assert.deepEqual(next?.data, { ...BASE, city: "Zilina", phone: "5" });
  assert.equal(next?.server_version, 6); // a discard falls back to it
  assert.deepEqual(next?.server_data, newest.record);
});

test("a resolved conflict's row with nothing left to send takes the newest server state", () => {
  const sent = { rev: 2, data: { ...BASE, city: "Kosice" } };
  const resolution = { version: 4, record: { ...BASE, city: "Zilina" }, deleted: false };
  const newest = { version: 6, record: { ...BASE, city: "Zilina", phone: "7" }, deleted: false };
  for (const now of [row({ rev: 2 }), row({ rev: 3, data: { ...BASE, city: "Zilina" } })]) {
    const next = settleResolved("account", "a1", now, sent, resolution, newest);
    assert.equal(next?.state, "synced");
    assert.equal(next?.base_version, 6);
    assert.deepEqual(next?.data, newest.record);
    assert.equal(next?.server_version, null);
  }
});

test("a pull lays a server state beside unsynced edits, and over a synced row", () => {
  const server = { entity: "account", id: "a1", version: 8, record: { name: "X" }, deleted: false };
  const pending = layOver(row({}), server);
  assert.deepEqual(pending?.data, row({}).data);
  assert.equal(pending?.server_version, 8);
  const synced = layOver(row({ state: "synced", base: null }), server);
  assert.deepEqual(synced?.data, { name: "X" });
  assert.equal(layOver(null, { ...server, deleted: true, record: null }), null);
});

test("only results one per change, each of a known status, settle a batch", () => {
  assert.equal(resultsOf("<html>", 1), null);
  assert.equal(resultsOf({ results: [] }, 1), null);
  assert.equal(resultsOf({ results: [{ status: "ok" }] }, 1), null);
  assert.equal(resultsOf({ results: [{ status: "conflict", conflict_id: null }] }, 1), null);
  assert.ok(resultsOf({ results: [{ status: "applied" }] }, 1));
});

test("a conflict keeps D and base; a decision met again is marked superseded", () => {
  const change = changeOf(row({ conflict_id: "c1" }), "b.0", {
    id: "c1",
    choice: "device",
    picks: null,
    server: BASE,
    server_version: 5,
  });
  const result = {
    status: "conflict",
    version: 6,
    record: { ...BASE, city: "Nitra" },
    deleted: false,
    conflict_id: "c2",
  };
  const snapshot = { entity: "account", id: "a1", rev: 2, conflict_id: "c1" };
  const rows = new Map([["account:a1", row({ conflict_id: "c1" })]]);
  const writes = plan([{ snapshot, change }], [result], rows, new Map(), "T");
  assert.deepEqual(writes.conflictDeletes, ["c1"]);
  const [conflict] = writes.conflictPuts;
  assert.equal(conflict.id, "c2");
  assert.equal(conflict.kind, "update_update");
  assert.deepEqual(conflict.base, BASE);
  assert.deepEqual(conflict.device, row({}).data);
  assert.deepEqual(conflict.server, result.record);
  assert.deepEqual(conflict.superseded, { previous_choice: "device", at: "T" });
  assert.equal(writes.puts[0].conflict_id, "c2");
  assert.equal(writes.puts[0].state, "updated");
});

test("server wins over what the worker typed leaves a notice of each value replaced", () => {
  const change = changeOf(row({}), "b.0", null);
  const result = { status: "server_wins", version: 6, record: { ...BASE, city: "Nitra" }, deleted: false };
  const snapshot = { entity: "account", id: "a1", rev: 2, conflict_id: null };
  const rows = new Map([["account:a1", row({ title: "Acme" })]]);
  const writes = plan([{ snapshot, change }], [result], rows, new Map(), "T");
  assert.equal(writes.notices.length, 1);
  assert.equal(writes.notices[0].title, "Acme");
  assert.deepEqual(writes.notices[0].fields, [{ name: "city", typed: "Kosice", kept: "Nitra" }]);
  assert.equal(writes.puts[0].state, "synced");
  assert.deepEqual(writes.puts[0].data, result.record);
});

test("an applied change stored as sent (echo=changed) makes no notice", () => {
  const change = changeOf(row({}), "b.0", null);
  const result = { status: "applied", version: 4, record: null, deleted: false };
  const snapshot = { entity: "account", id: "a1", rev: 2, conflict_id: null };
  const writes = plan([{ snapshot, change }], [result], new Map([["account:a1", row({})]]), new Map(), "T");
  assert.equal(writes.notices.length, 0);
  assert.deepEqual(writes.puts[0].data, change.record);
  assert.equal(writes.puts[0].base_version, 4);
});

test("a refusal keeps the change with the server's cause; an edit made since is retried", () => {
  const change = changeOf(row({}), "b.0", null);
  const error = { code: "too_long", message: "phone: at most 20 characters", field: "phone" };
  const result = { status: "rejected", version: null, record: null, deleted: false, error };
  const snapshot = { entity: "account", id: "a1", rev: 2, conflict_id: null };
  const same = plan([{ snapshot, change }], [result], new Map([["account:a1", row({})]]), new Map(), "T");
  assert.deepEqual(same.puts[0].error, error);
  const edited = new Map([["account:a1", row({ rev: 3 })]]);
  assert.equal(plan([{ snapshot, change }], [result], edited, new Map(), "T").puts.length, 0);
});
