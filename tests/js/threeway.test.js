// The three-way view of a conflict: who changed each field, merge defaults, summaries.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  CHOICE_WORDS,
  defaultPicks,
  merged,
  summary,
  supersededWords,
  threeWay,
} from "../../src/fieldsync/app/js/threeway.js";
import { refusal } from "../../src/fieldsync/app/js/refusals.js";

const base = { name: "Acme", city: "Lyon", note: "", phone: "1" };

/** @param {object} fields */
function conflict(fields) {
  return { kind: "update_update", base, device: base, server: base, server_deleted: false, ...fields };
}

test("each field is unchanged, mine, the office's, both alike or the question", () => {
  const view = threeWay(
    conflict({
      device: { name: "Acme", city: "Lyon", note: "gate code 12", phone: "2" },
      server: { name: "Acme SA", city: "Lyon", note: "", phone: "3" },
    }),
  );
  const changes = Object.fromEntries(view.rows.map((r) => [r.name, r.change]));
  assert.deepEqual(changes, { name: "office", city: "unchanged", note: "mine", phone: "both" });
  assert.deepEqual(view.questions.map((r) => r.name), ["phone"]);
  assert.deepEqual(view.unchanged.map((r) => r.name), ["city"]);
});

test("a field both sides changed to the same value is no question", () => {
  const view = threeWay(conflict({ device: { ...base, city: "Paris" }, server: { ...base, city: "Paris" } }));
  assert.equal(view.rows.find((r) => r.name === "city")?.change, "same");
  assert.equal(view.questions.length, 0);
});

test("a merge takes each field from the side that changed it, mine when both did", () => {
  const view = threeWay(
    conflict({
      device: { ...base, note: "gate code 12", phone: "2" },
      server: { ...base, city: "Paris", phone: "3" },
    }),
  );
  assert.deepEqual(defaultPicks(view.rows), { city: "server", note: "device", phone: "device" });
  assert.deepEqual(merged(view.rows, defaultPicks(view.rows)), {
    name: "Acme",
    city: "Paris",
    note: "gate code 12",
    phone: "2",
  });
  assert.equal(merged(view.rows, { phone: "server" }).phone, "3");
});

test("the record as it is on the phone now is mine, not the conflict's old copy", () => {
  const view = threeWay(conflict({ device: { ...base, note: "old" } }), { mine: { ...base, note: "new" } });
  assert.equal(view.rows.find((r) => r.name === "note")?.mine, "new");
});

test("fields follow the entity's order", () => {
  const view = threeWay(conflict({}), { order: ["phone", "name", "city", "note"] });
  assert.deepEqual(view.rows.map((r) => r.name), ["phone", "name", "city", "note"]);
});

test("I edited, the office deleted: restore or accept, and no merge", () => {
  const view = threeWay(conflict({ kind: "update_delete", device: { ...base, note: "x" }, server: base, server_deleted: true }));
  assert.deepEqual(view.choices, { device: "Restore my version", server: "Accept delete" });
  assert.equal(view.canMerge, false);
  assert.equal(view.what, "You changed this record; the office deleted it.");
  assert.deepEqual(view.changed.map((r) => [r.name, r.change, r.office]), [["note", "mine", null]]);
});

test("I deleted, the office edited: delete anyway or keep the office's version", () => {
  const view = threeWay(conflict({ kind: "delete_update", device: null, server: { ...base, city: "Nice" } }));
  assert.deepEqual(view.choices, CHOICE_WORDS.delete_update);
  assert.deepEqual(view.choices, { device: "Delete anyway", server: "Keep office version" });
  assert.deepEqual(view.changed.map((r) => [r.name, r.change]), [["city", "office"]]);
  assert.equal(view.canMerge, false);
});

test("apply to all says how many keep mine, keep the office's, leave this phone", () => {
  const conflicts = [{ kind: "update_update" }, { kind: "update_update" }, { kind: "update_delete" }, { kind: "delete_update" }];
  assert.equal(summary(conflicts, "device").text, "3 keep mine, 1 deleted from this phone");
  assert.deepEqual(
    { ...summary(conflicts, "server"), text: undefined },
    { mine: 0, office: 3, deleted: 1, text: undefined },
  );
  assert.equal(summary(conflicts, "server").text, "3 keep the office's, 1 deleted from this phone");
  assert.equal(summary([{ kind: "update_update" }], "server").text, "1 keeps the office's");
  assert.equal(summary([], "device").text, "Nothing to decide");
});

const contact = {
  name: "contact",
  label: "Contact",
  fields: [
    { name: "name", label: "Name" },
    { name: "phone", label: "Phone" },
    { name: "account", label: "Account", type: "lookup", target: "account" },
  ],
};
const account = { name: "account", label: "Account", fields: [] };

test("a value too long names the field and the server's limit, and offers fix or discard", () => {
  const error = { code: "too_long", message: "contact.phone is 27 characters long", details: { field: "phone", max_length: 20 } };
  assert.deepEqual(refusal(error, contact), {
    cause: "Phone is too long for the server's 20 characters.",
    field: "phone",
    actions: ["fix", "discard"],
  });
});

test("a deleted parent is named by its kind", () => {
  const error = { code: "parent_deleted", message: "x", details: { field: "account", parent: "a1" } };
  const found = refusal(error, contact, [contact, account]);
  assert.equal(found.cause, "Its account was deleted on the server.");
  assert.deepEqual(found.actions, ["fix", "discard"]);
});

test("a refusal the same values meet again offers no retry; an unknown one does", () => {
  assert.deepEqual(refusal({ code: "no_permission", message: "x" }, contact).actions, ["discard"]);
  const unknown = refusal({ code: "something_new", message: "The server says no." }, contact);
  assert.deepEqual(unknown, { cause: "The server says no.", field: null, actions: ["discard", "retry"] });
});

test("a superseded conflict says 'after you decided' only when the user had decided", () => {
  assert.equal(supersededWords({ previous_choice: "device" }), "The office changed this again after you decided: check again");
  assert.equal(supersededWords({ previous_choice: null }), "The office changed this again: check again");
});
