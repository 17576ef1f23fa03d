// .dev.vars as wrangler reads it (dotenv syntax), for `npm run dev`'s own decisions: which
// embedded services to start, and which database to migrate.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./runtime.mjs";

/**
 * KEY=value lines as dotenv (wrangler's reader) takes them: `export ` and spaces around `=`
 * allowed; a value in single, double or back quotes is taken as written (\n and \r in double
 * quotes become line breaks), and a quoted value may span lines; an unquoted value ends at the
 * first `#` and is trimmed. Comment and malformed lines are skipped.
 */
export function parseDevVars(text) {
  // dotenv 16's line pattern.
  const LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;
  const vars = {};
  for (const m of text.replace(/\r\n?/g, "\n").matchAll(LINE)) {
    let value = (m[2] ?? "").trim();
    const quote = value[0];
    value = value.replace(/^(['"`])([\s\S]*)\1$/m, "$2");
    if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    vars[m[1]] = value;
  }
  return vars;
}

/** The project's .dev.vars, parsed ({} when there is none). */
export function readDevVars(file = join(ROOT, ".dev.vars")) {
  return existsSync(file) ? parseDevVars(readFileSync(file, "utf8")) : {};
}

/** Every variable worker/config.ts reads (its "UPPER_CASE" string literals). */
export function configVariableNames() {
  const source = readFileSync(join(ROOT, "worker", "config.ts"), "utf8");
  return [...new Set([...source.matchAll(/"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"/g)].map((m) => m[1]))];
}
