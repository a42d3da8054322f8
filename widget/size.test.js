// The widget's weight on a customer's page: widget.js and the core it loads, gzipped, stay
// within the 15 KB the spec allows (what a browser downloads; the console's files don't count).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const zlib = require("node:zlib");

const LIMIT = 15 * 1024;

test("widget.js and core.js together are at most 15 KB gzipped", () => {
  let total = 0;
  for (const file of ["widget.js", "core.js"]) {
    const source = fs.readFileSync(path.join(__dirname, file));
    total += zlib.gzipSync(source, { level: 9 }).length;
  }
  assert.ok(total > 1024, "both files were read");
  assert.ok(total <= LIMIT, `the widget is ${total} bytes gzipped, over ${LIMIT}`);
});
