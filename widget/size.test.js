// The widget's weight on a customer's page: widget.js, the core and the largest locale file it
// loads, each gzipped as a static host serves them, stay within the 15 KB the spec allows.
// uploads.js is loaded only when a visitor picks a file; its weight is reported beside.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const zlib = require("node:zlib");

const LIMIT = 15 * 1024;
const gzipped = (file) => zlib.gzipSync(fs.readFileSync(path.join(__dirname, file)), { level: 9 }).length;

test("widget.js, core.js and a locale are at most 15 KB gzipped", () => {
  const locales = fs.readdirSync(path.join(__dirname, "locales")).filter((f) => f.endsWith(".js"));
  assert.ok(locales.length >= 2, "English and French at least");
  const largest = Math.max(...locales.map((f) => gzipped(path.join("locales", f))));
  const total = gzipped("widget.js") + gzipped("core.js") + largest;
  assert.ok(total > 10 * 1024, `all files were read (${total} bytes)`);
  console.log(`widget.js + core.js + largest locale: ${total} bytes gzipped (limit ${LIMIT}); ` +
    `uploads.js on demand: ${gzipped("uploads.js")}`);
  assert.ok(total <= LIMIT, `the widget is ${total} bytes gzipped, over ${LIMIT}`);
});
