// The widget's string tables: every language has exactly English's keys, with the same
// placeholders, and no empty text (a missing key would show the key's name to a visitor).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

function tables() {
  const sandbox = { self: {} };
  const dir = path.join(__dirname, "locales");
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
    vm.runInNewContext(fs.readFileSync(path.join(dir, file), "utf8"), sandbox, { filename: file });
  }
  return sandbox.self.RelayLocales;
}
const placeholders = (text) => (text.match(/\{\w+\}/g) || []).sort();

test("English and French are both there", () => {
  assert.deepEqual(Object.keys(tables()).sort(), ["en", "fr"]);
});

test("every table has English's keys, the same placeholders and no empty text", () => {
  const all = tables();
  const keys = Object.keys(all.en).sort();
  assert.ok(keys.length > 30);
  for (const [language, table] of Object.entries(all)) {
    assert.deepEqual(Object.keys(table).sort(), keys, `${language}: keys differ from en`);
    for (const key of keys) {
      assert.ok(table[key].trim(), `${language}.${key} is empty`);
      assert.deepEqual(placeholders(table[key]), placeholders(all.en[key]), `${language}.${key}: placeholders`);
    }
  }
});

test("every key the widget asks for exists in English", () => {
  const source = fs.readFileSync(path.join(__dirname, "widget.js"), "utf8");
  const asked = new Set([...source.matchAll(/\bt\(\s*"(\w+)"/g)].map((m) => m[1]));
  // Keys chosen at run time: t(cond ? "a" : "b") and error codes.
  for (const m of source.matchAll(/\bt\([^)]*?\?\s*"(\w+)"\s*:\s*"(\w+)"/g)) asked.add(m[1]).add(m[2]);
  assert.ok(asked.size > 20, `found ${asked.size} keys`);
  const english = tables().en;
  for (const key of asked) assert.ok(key in english, `en.js has no "${key}"`);
});
