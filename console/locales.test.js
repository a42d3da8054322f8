// The console's string tables: every language has English's keys with the same placeholders,
// and every key the console's page and scripts ask for exists (node --test console/).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { loadTables, checkTables, keysAskedIn } = require("../widget/string-tables.js");

const tables = () => loadTables(path.join(__dirname, "locales"), "RelayConsoleLocales");

test("English and French, with the same keys and placeholders, none empty", () => {
  checkTables(tables(), 80);
});

test("every key the page and the scripts ask for is in the tables", () => {
  const asked = new Set();
  const html = fs.readFileSync(path.join(__dirname, "index.html"), "utf8");
  for (const m of html.matchAll(/data-i18n(?:-[a-z-]+)?="(\w+)"/g)) asked.add(m[1]);
  for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith(".js") && !f.endsWith(".test.js"))) {
    for (const key of keysAskedIn(fs.readFileSync(path.join(__dirname, file), "utf8"))) asked.add(key);
  }
  assert.ok(asked.size > 60, `found ${asked.size} keys`);
  const english = tables().en;
  for (const key of asked) assert.ok(key in english, `en.js has no "${key}"`);
});
