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
