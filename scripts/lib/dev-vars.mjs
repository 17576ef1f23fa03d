// .dev.vars as wrangler reads it (dotenv syntax), for `npm run dev`'s own decisions: which
// embedded services to start, and which database to migrate.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./runtime.mjs";

/**
 * KEY=value lines in dotenv syntax: `export ` and spaces around `=` allowed; a value in double or
 * single quotes is taken as written (\n in double quotes is a newline); an unquoted value ends at
 * ` #` (an inline comment) and is trimmed. Comment and malformed lines are skipped.
 */
export function parseDevVars(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const raw = m[2];
    const quoted = /^(["'])(.*?)\1(\s+#.*|\s*)$/.exec(raw);
    if (quoted) vars[m[1]] = quoted[1] === '"' ? quoted[2].replace(/\\n/g, "\n") : quoted[2];
    else vars[m[1]] = raw.replace(/(^|\s+)#.*$/, "").trim();
  }
  return vars;
}

/** The project's .dev.vars, parsed ({} when there is none). */
export function readDevVars(file = join(ROOT, ".dev.vars")) {
  return existsSync(file) ? parseDevVars(readFileSync(file, "utf8")) : {};
}

/**
 * `vars` as an env file (dotenv syntax) for `wrangler dev --env-file`, so that values (secrets
 * among them) never appear on a command line. Single quotes take a value literally; a value that
 * holds a single quote goes in double quotes. One that holds a single quote and a double quote or
 * a backslash, or a line break, cannot be written so: it is returned in `rest`, for --var.
 */
export function envFileText(vars) {
  const lines = [];
  const rest = {};
  for (const [k, v] of Object.entries(vars)) {
    if (/[\r\n]/.test(v) || (v.includes("'") && (v.includes('"') || v.includes("\\")))) rest[k] = v;
    else lines.push(v.includes("'") ? `${k}="${v}"` : `${k}='${v}'`);
  }
  return { text: lines.join("\n") + "\n", rest };
}

/** Every variable worker/config.ts reads (its "UPPER_CASE" string literals). */
export function configVariableNames() {
  const source = readFileSync(join(ROOT, "worker", "config.ts"), "utf8");
  return [...new Set([...source.matchAll(/"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"/g)].map((m) => m[1]))];
}
