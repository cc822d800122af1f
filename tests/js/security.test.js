// What an attacker's review found in the field app's pure parts: mailto: links that add
// mail headers, a malformed escape in the hash, labels mangled into plurals.

import assert from "node:assert/strict";
import { test } from "node:test";

const { mailHref } = await import("../../src/fieldsync/app/js/screens/record.js");
const { plural } = await import("../../src/fieldsync/app/js/screens/list.js");
const { parseRoute } = await import("../../src/fieldsync/app/js/router.js");

test("an e-mail link writes to the address and adds no headers", () => {
  assert.equal(mailHref("info@farm.example"), "mailto:info@farm.example");
  assert.equal(mailHref(" jana+crm@farm.example "), "mailto:jana%2Bcrm@farm.example");
  assert.equal(mailHref("boss@example.com?bcc=spy@evil.example&body=hi"), null);
  assert.equal(mailHref("boss@example.com&cc=spy@evil.example"), null);
  assert.equal(mailHref("a@b.example,spy@evil.example"), null);
  assert.equal(mailHref("boss%40example.com"), null);
  assert.equal(mailHref("not an address"), null);
});

test("a malformed escape in the hash names no screen", () => {
  assert.deepEqual(parseRoute("#/record/account/%E0%A4%A"), { name: "missing" });
  assert.deepEqual(parseRoute("#/record/account/%E0%A4%A4"), { name: "record", entity: "account", id: "\u0924" });
});

test("a label becomes plural only where its plural is known", () => {
  assert.equal(plural("Account"), "Accounts");
  assert.equal(plural("Opportunity"), "Opportunities");
  assert.equal(plural("Box"), "Boxes");
  assert.equal(plural("Contact person"), "Contact people");
  assert.equal(plural("Status"), "Status");
  assert.equal(plural("Equipment"), "Equipment");
  assert.equal(plural("FAQ"), "FAQ");
  assert.equal(plural("Kunde (DE)"), "Kunde (DE)");
  assert.equal(plural("Zákazník"), "Zákazník");
});
