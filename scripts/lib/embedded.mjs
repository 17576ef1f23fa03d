// The embedded defaults `npm start` and `npm run dev` run with: PostgreSQL 17 and an S3 store,
// kept between runs in the state directory, plus migrations applied.
import { join } from "node:path";
import pg from "pg";
import { Migrator } from "./migrator.mjs";
import { defaultStateDir, EmbeddedPostgres, portAvailable } from "./postgres.mjs";
import { ROOT } from "./runtime.mjs";
import { startS3, storageEnv } from "./s3.mjs";

const EMBEDDED = {
  database: "ignition",
  stateDir: defaultStateDir(),
};

export function embeddedDatabaseUrl(port = portSetting(process.env, "EMBEDDED_PG_PORT", 54329)) {
  // Checked like npm start checks it: a bad EMBEDDED_PG_PORT is named, not turned into a bad URL.
  return `postgres://postgres:postgres@127.0.0.1:${port}/${EMBEDDED.database}`;
}

/** CREATE DATABASE unless it exists (connecting through the maintenance database). */
export async function ensureDatabase(adminUrl, name) {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on("error", () => {}); // a server stopped under us (Ctrl-C) fails the query instead
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * A port variable of env as a number: the fallback when unset or empty; a value that is not a
 * whole number from 1 to 65535 is refused, quoting what was typed.
 */
export function portSetting(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 65535) {
    throw new Error(`${name}=${raw} is invalid: it must be a whole number from 1 to 65535`);
  }
  return n;
}

/** The embedded services env asks for (none when DATABASE_URL / STORAGE_ENDPOINT are set), checked. */
export function embeddedSettings(env = process.env) {
  const postgres = !env.DATABASE_URL;
  const s3 = !env.STORAGE_ENDPOINT;
  const settings = {
    postgres,
    s3,
    pgPort: postgres ? portSetting(env, "EMBEDDED_PG_PORT", 54329) : null,
    s3Port: s3 ? portSetting(env, "EMBEDDED_S3_PORT", 54330) : null,
  };
  if (postgres && s3 && settings.pgPort === settings.s3Port) {
    throw new Error(`EMBEDDED_PG_PORT and EMBEDDED_S3_PORT are both ${settings.pgPort}: they need different ports`);
  }
  return settings;
}

/**
 * Before anything starts: the settings are valid, the ports are free, and the data directory is
 * usable (see EmbeddedPostgres#check). Throws with what to do.
 */
export async function checkEmbeddedServices({ env = process.env } = {}) {
  const settings = embeddedSettings(env);
  if (settings.postgres) {
    const db = new EmbeddedPostgres({ dataDir: join(EMBEDDED.stateDir, "postgres-17"), port: settings.pgPort, portVariable: "EMBEDDED_PG_PORT" });
    await db.check();
  }
  if (settings.s3 && !(await portAvailable(settings.s3Port))) {
    throw new Error(`port ${settings.s3Port} is already in use (127.0.0.1:${settings.s3Port}), wanted by the local S3 store: stop what listens there or set EMBEDDED_S3_PORT`);
  }
  return settings;
}

/**
 * Starts what is not given by the environment: PostgreSQL unless DATABASE_URL is set, the S3
 * store unless STORAGE_ENDPOINT is set. Applies migrations. Returns the variables to pass to the
 * API and a stop() for what was started.
 *
 * `register(stop)` is called at once with that same stop(), so that a Ctrl-C while this is still
 * starting stops what it has started so far (PostgreSQL is stopped, or never spawned).
 */
export async function startEmbeddedServices({ env = process.env, say = console.log, register } = {}) {
  const stops = [];
  const stop = async () => {
    while (stops.length > 0) await stops.pop()().catch((e) => console.error(e.message));
  };
  register?.(stop);
  try {
    const settings = embeddedSettings(env);
    let databaseUrl = env.DATABASE_URL;
    if (settings.postgres) {
      const db = new EmbeddedPostgres({ dataDir: join(EMBEDDED.stateDir, "postgres-17"), port: settings.pgPort, portVariable: "EMBEDDED_PG_PORT" });
      stops.push(() => db.stop());
      say(`starting PostgreSQL 17 on 127.0.0.1:${settings.pgPort} (data: ${db.dataDir})`);
      await db.start();
      await ensureDatabase(db.url(), EMBEDDED.database);
      databaseUrl = embeddedDatabaseUrl(settings.pgPort);
    }
    await new Migrator({ databaseUrl, dir: join(ROOT, "migrations"), log: say }).up();

    let storage = {};
    if (settings.s3) {
      const s3 = await startS3({ port: settings.s3Port, directory: join(EMBEDDED.stateDir, "s3"), portVariable: "EMBEDDED_S3_PORT" });
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
