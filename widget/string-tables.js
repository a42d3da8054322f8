// For the tests only (node): what the widget's and the console's string-table tests share
// (widget/locales.test.js, console/locales.test.js). Browsers never load this file.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

/** Every table of a locales/ folder, by language, as the browser would define them. */
function loadTables(dir, globalName) {
  const sandbox = { self: {} };
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
    vm.runInNewContext(fs.readFileSync(path.join(dir, file), "utf8"), sandbox, { filename: file });
  }
  return sandbox.self[globalName];
}

const placeholders = (text) => (text.match(/\{\w+\}/g) || []).sort();

/** English and French, each with English's keys and placeholders, no text empty. */
function checkTables(all, atLeast) {
  assert.deepEqual(Object.keys(all).sort(), ["en", "fr"]);
  const keys = Object.keys(all.en).sort();
  assert.ok(keys.length >= atLeast, `${keys.length} keys`);
  for (const [language, table] of Object.entries(all)) {
    assert.deepEqual(Object.keys(table).sort(), keys, `${language}: keys differ from en`);
    for (const key of keys) {
      assert.ok(table[key].trim(), `${language}.${key} is empty`);
      assert.deepEqual(placeholders(table[key]), placeholders(all.en[key]), `${language}.${key}: placeholders`);
    }
  }
}

/** The keys a script asks for: `t("key")`, and both keys of `t(cond ? "a" : "b")`. */
function keysAskedIn(source) {
  const asked = new Set([...source.matchAll(/\bt\(\s*"(\w+)"/g)].map((m) => m[1]));
  for (const m of source.matchAll(/\bt\([^)]*?\?\s*"(\w+)"\s*:\s*"(\w+)"/g)) asked.add(m[1]).add(m[2]);
  return asked;
}

module.exports = { loadTables, checkTables, keysAskedIn };
