// How the field app writes values for a person and reads back what they type: numbers for
// the locale, date-times in the phone's zone and stored with its offset, the sync bar's words.

process.env.TZ = "America/New_York";

import assert from "node:assert/strict";
import { test } from "node:test";

const format = await import("../../src/fieldsync/app/js/format.js");
const { describe } = await import("../../src/fieldsync/app/js/screens/syncbar.js");

test("numbers and booleans read as a person writes them", () => {
  assert.equal(format.formatValue({ name: "revenue", type: "decimal" }, 2860000.0), "2,860,000");
  assert.equal(format.formatValue({ name: "active", type: "boolean" }, true), "Yes");
  assert.equal(format.formatValue({ name: "active", type: "boolean" }, false), "No");
  assert.equal(format.formatValue({ name: "phone", type: "string" }, null), "—");
});

test("a date stays its day whatever the zone", () => {
  assert.equal(format.formatDate("2026-12-07"), "Dec 7, 2026");
});

test("a date-time shows in the phone's zone", () => {
  assert.equal(format.formatDateTime("2026-12-07T19:00:00Z"), "Dec 7, 2026, 2:00 PM");
});

test("what a datetime-local input holds is stored with the phone's offset", () => {
  assert.equal(format.fromLocalInput("2026-12-07T14:00"), "2026-12-07T14:00:00-05:00");
  assert.equal(format.fromLocalInput("2026-07-07T14:00"), "2026-07-07T14:00:00-04:00");
  assert.equal(format.toLocalInput("2026-12-07T19:00:00+00:00"), "2026-12-07T14:00");
  assert.equal(format.fromLocalInput(""), null);
});

test("numbers typed with group separators are read, words are not", () => {
  assert.equal(format.parseNumber("2,860,000.5", false), 2860000.5);
  assert.equal(format.parseNumber(" 42 ", true), 42);
  assert.equal(format.parseNumber("", true), null);
  assert.ok(Number.isNaN(format.parseNumber("4.5", true)));
  assert.ok(Number.isNaN(format.parseNumber("twelve", false)));
  assert.equal(format.numberToInput(2860000.5), "2860000.5");
});

const base = {
  online: true, running: false, progress: null, lastSync: null, lastResult: null,
  conflicts: 0, refused: 0, pending: 0, authNeeded: false, labels: { account: "Account", contact: "Contact" },
};

test("the sync bar says what the last sync left to do", () => {
  const at = new Date(2026, 11, 7, 12, 3).toISOString();
  const now = new Date();
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate(), 12, 3).toISOString();
  assert.equal(describe({ ...base, lastSync: today, conflicts: 2 }).text, "Synced 12:03 PM · 2 conflicts need you");
  assert.equal(describe({ ...base, lastSync: today, conflicts: 1, refused: 1 }).text, "Synced 12:03 PM · 1 conflict needs you · 1 change refused");
  assert.match(describe({ ...base, lastSync: at }).text, /^Synced Dec 7, 2026/);
  assert.equal(describe({ ...base }).text, "Not synced yet");
});

test("the sync bar counts a first download per entity", () => {
  const said = describe({ ...base, running: true, progress: { received: 3200, total: 10000, per_entity: { account: 1200, contact: 2000 } } });
  assert.equal(said.text, "Syncing… 3,200 of 10,000 records");
  assert.equal(said.detail, "Accounts 1,200 · Contacts 2,000");
});

test("offline and signed out are said as such, with what waits", () => {
  assert.equal(describe({ ...base, online: false, pending: 3 }).text, "Offline");
  assert.match(describe({ ...base, online: false, pending: 3 }).detail, /^3 changes not sent yet/);
  assert.equal(describe({ ...base, authNeeded: true, pending: 1 }).text, "Signed out");
});
