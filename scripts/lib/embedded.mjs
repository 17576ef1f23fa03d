// The embedded defaults `npm start` runs with: PostgreSQL 17 and an S3 store, kept between runs.
import { join } from "node:path";
import pg from "pg";
import { defaultStateDir } from "./postgres.mjs";

export const EMBEDDED = {
  pgPort: Number(process.env.EMBEDDED_PG_PORT || 54329),
  s3Port: Number(process.env.EMBEDDED_S3_PORT || 54330),
  database: "ignition",
  stateDir: defaultStateDir(),
};

export function embeddedDatabaseUrl() {
  return `postgres://postgres:postgres@127.0.0.1:${EMBEDDED.pgPort}/${EMBEDDED.database}`;
}

export const embeddedDataDir = () => join(EMBEDDED.stateDir, "postgres-17");
export const embeddedS3Dir = () => join(EMBEDDED.stateDir, "s3");

/** CREATE DATABASE unless it exists (connecting through the maintenance database). */
export async function ensureDatabase(adminUrl, name) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
