// Validates an AsyncAPI document with the official parser: schema and references.
// Usage: node validate.mjs <file>. Exits 1 on any error-level diagnostic.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const file = process.argv[2];
const { document, diagnostics } = await new Parser().parse(readFileSync(file, "utf8"));
// Severity 0 is an error; warnings and hints are printed but pass.
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) {
  const level = ["error", "warning", "info", "hint"][d.severity] ?? d.severity;
  console.log(`${level}: ${d.message} at ${d.path.join(".")}`);
}
if (errors.length > 0 || !document) {
  console.error(`${file}: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()}, ${document.allMessages().length} messages`);
