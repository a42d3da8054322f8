// The widget's string tables: every language has exactly English's keys, with the same
// placeholders, and no empty text (a missing key would show the key's name to a visitor).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { loadTables, checkTables, keysAskedIn } = require("./string-tables.js");

const tables = () => loadTables(path.join(__dirname, "locales"), "RelayLocales");

test("English and French, with the same keys and placeholders, none empty", () => {
  checkTables(tables(), 30);
});

test("every key the widget asks for exists in English", () => {
  const asked = keysAskedIn(fs.readFileSync(path.join(__dirname, "widget.js"), "utf8"));
  assert.ok(asked.size > 20, `found ${asked.size} keys`);
  const english = tables().en;
  for (const key of asked) assert.ok(key in english, `en.js has no "${key}"`);
});
