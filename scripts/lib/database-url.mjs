// DATABASE_URL for the command-line tools (migrate, admin), or the embedded database of
// `npm start` in a checkout. The image has no embedded database: there DATABASE_URL is required.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** @returns {Promise<string | null>} null when DATABASE_URL is unset and there is no embedded default */
export async function databaseUrlFromEnv() {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  if (!existsSync(join(HERE, "embedded.mjs"))) return null;
  return (await import("./embedded.mjs")).embeddedDatabaseUrl();
}

/** Why `url` is not a usable PostgreSQL URL (never quoting it: it may hold a password), or null. */
export function databaseUrlProblem(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return "it is not a URL (postgres://user:password@host:5432/database)";
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return `it must start with postgres:// or postgresql://, not ${parsed.protocol}//`;
  }
  if (!parsed.hostname) return "it names no host (postgres://user:password@host:5432/database)";
  return null;
}

/** host:port/database of a URL, without the credentials, for messages. */
export function databaseTarget(url) {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}
