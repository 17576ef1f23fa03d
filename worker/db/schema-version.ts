// The migrations this build was made with, compared with what the database has applied.
// scripts/lib/runtime.mjs bakes the list of migrations/NNNN_name.sql into the bundle
// (`--define __APP_MIGRATIONS__`), so an image knows the schema it needs without reading files.
import { sqlState } from "./errors";
import type { Sql } from "./sql";

declare const __APP_MIGRATIONS__: string[] | undefined;

export interface Migration {
  version: number;
  file: string;
}

/** Without the define (e.g. a plain `wrangler deploy`) nothing is expected and the check passes. */
export const EXPECTED_MIGRATIONS: Migration[] =
  typeof __APP_MIGRATIONS__ === "object" && Array.isArray(__APP_MIGRATIONS__)
    ? __APP_MIGRATIONS__.map((name) => ({ version: Number(name.slice(0, 4)), file: `${name}.sql` }))
    : [];

const pad = (version: number) => String(version).padStart(4, "0");

/**
 * null when the database has every migration the build expects (a newer schema is fine: an image
 * rolled back without its migrations); otherwise a message naming the missing files. Compared as
 * sets, not by the highest number: migration numbers may be applied out of order (a reserved
 * lower number can land after a higher one).
 */
export function schemaProblem(applied: readonly number[], expected: Migration[]): string | null {
  const have = new Set(applied);
  const current = applied.length === 0 ? 0 : Math.max(...applied);
  const missing = expected.filter((m) => !have.has(m.version));
  if (missing.length === 0) return null;
  return (
    `database schema is at ${pad(current)}; this build needs ${pad(expected.at(-1)!.version)}: ` +
    `missing ${missing.map((m) => m.file).join(", ")} (run the migrations: migrate up)`
  );
}

/** Applied migration versions; none when schema_migrations does not exist yet. */
export async function appliedMigrations(sql: Sql): Promise<number[]> {
  try {
    const rows = await sql.query<{ version: number }>("SELECT version FROM schema_migrations");
    return rows.map((r) => Number(r.version));
  } catch (err) {
    if (sqlState(err) === "42P01") return []; // undefined_table: never migrated
    throw err;
  }
}
