import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * A connected client. A connection the server ends (a test that kills or freezes a backend) must
 * not crash the test run with an unhandled "error" event: its queries reject and fail the test.
 */
export async function connectClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Runs fn with a connected client and always closes it. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectClient(url);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A new, empty database on the server of adminUrl; returns its URL. */
export async function createScratchDatabase(adminUrl: string, prefix = "ignition_scratch"): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * A textual description of every object in the public schema (tables, columns, constraints,
 * indexes, views, functions, triggers, sequences, types), sorted, for comparing two schemas.
 * Built from the catalogs because pg_dump may not match the server's major version.
 */
export async function schemaSnapshot(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const parts: string[] = [];
    const q = async (label: string, sql: string) => {
      const { rows } = await c.query(sql);
      for (const r of rows) parts.push(`${label} ${Object.values(r).join(" | ")}`);
    };
    await q("column", `SELECT table_name, column_name, data_type, is_nullable, column_default
      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`);
    await q("constraint", `SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`);
    await q("index", `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`);
    await q("view", `SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1`);
    await q("function", `SELECT p.proname, pg_get_function_identity_arguments(p.oid), md5(pg_get_functiondef(p.oid))
      FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1, 2`);
    await q("trigger", `SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
      FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2`);
    await q("sequence", `SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY 1`);
    await q("type", `SELECT t.typname, t.typtype FROM pg_type t
      WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'c', 'd') AND NOT EXISTS
      (SELECT 1 FROM pg_class cl WHERE cl.reltype = t.oid) ORDER BY 1`);
    return parts.join("\n");
  });
}
