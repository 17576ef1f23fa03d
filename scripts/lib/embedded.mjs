// The embedded defaults `npm start` and `npm run dev` run with: PostgreSQL 17 and an S3 store,
// kept between runs in the state directory, plus migrations applied.
import { join } from "node:path";
import pg from "pg";
import { Migrator } from "./migrator.mjs";
import { defaultStateDir, EmbeddedPostgres } from "./postgres.mjs";
import { ROOT } from "./runtime.mjs";
import { startS3, storageEnv } from "./s3.mjs";

export const EMBEDDED = {
  pgPort: Number(process.env.EMBEDDED_PG_PORT || 54329),
  s3Port: Number(process.env.EMBEDDED_S3_PORT || 54330),
  database: "ignition",
  stateDir: defaultStateDir(),
};

export function embeddedDatabaseUrl() {
  return `postgres://postgres:postgres@127.0.0.1:${EMBEDDED.pgPort}/${EMBEDDED.database}`;
}

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

/**
 * Starts what is not given by the environment: PostgreSQL unless DATABASE_URL is set, the S3
 * store unless STORAGE_ENDPOINT is set. Applies migrations. Returns the variables to pass to the
 * API and a stop() for what was started.
 */
export async function startEmbeddedServices({ env = process.env, say = console.log } = {}) {
  const stops = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => console.error(e.message));
  };
  try {
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const db = new EmbeddedPostgres({ dataDir: join(EMBEDDED.stateDir, "postgres-17"), port: EMBEDDED.pgPort });
      say(`starting PostgreSQL 17 on 127.0.0.1:${EMBEDDED.pgPort} (data: ${db.dataDir})`);
      await db.start();
      stops.push(() => db.stop());
      await ensureDatabase(db.url(), EMBEDDED.database);
      databaseUrl = embeddedDatabaseUrl();
    }
    await new Migrator({ databaseUrl, dir: join(ROOT, "migrations"), log: say }).up();

    let storage = {};
    if (!env.STORAGE_ENDPOINT) {
      const s3 = await startS3({ port: EMBEDDED.s3Port, directory: join(EMBEDDED.stateDir, "s3") });
      stops.push(() => s3.close());
      say(`local S3 store on ${s3.endpoint} (bucket ${s3.bucket})`);
      storage = storageEnv(s3);
    }
    return { vars: { DATABASE_URL: databaseUrl, ...storage }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
