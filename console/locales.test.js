// The console's string tables: every language has English's keys with the same placeholders,
// and every key the console's page and scripts ask for exists (node --test console/).
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
  return sandbox.self.RelayConsoleLocales;
}
const placeholders = (text) => (text.match(/\{\w+\}/g) || []).sort();

test("English and French, with the same keys and placeholders, none empty", () => {
  const all = tables();
  assert.deepEqual(Object.keys(all).sort(), ["en", "fr"]);
  const keys = Object.keys(all.en).sort();
  assert.ok(keys.length > 80, `${keys.length} keys`);
  for (const [language, table] of Object.entries(all)) {
    assert.deepEqual(Object.keys(table).sort(), keys, `${language}: keys differ from en`);
    for (const key of keys) {
      assert.ok(table[key].trim(), `${language}.${key} is empty`);
      assert.deepEqual(placeholders(table[key]), placeholders(all.en[key]), `${language}.${key}`);
    }
  }
});

test("every key the page and the scripts ask for is in the tables", () => {
  const english = tables().en;
  const asked = new Set();
  const html = fs.readFileSync(path.join(__dirname, "index.html"), "utf8");
  for (const m of html.matchAll(/data-i18n(?:-[a-z-]+)?="(\w+)"/g)) asked.add(m[1]);
  for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith(".js") && !f.endsWith(".test.js"))) {
    const source = fs.readFileSync(path.join(__dirname, file), "utf8");
    for (const m of source.matchAll(/\bt\(\s*"(\w+)"/g)) asked.add(m[1]);
    for (const m of source.matchAll(/\bt\([^)]*?\?\s*"(\w+)"\s*:\s*"(\w+)"/g)) asked.add(m[1]).add(m[2]);
  }
  assert.ok(asked.size > 60, `found ${asked.size} keys`);
  for (const key of asked) assert.ok(key in english, `en.js has no "${key}"`);
});
