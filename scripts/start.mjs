#!/usr/bin/env node
// npm start: the API on http://127.0.0.1:8080 with embedded defaults — PostgreSQL 17 (data kept in
// $IGNITION_STATE_DIR, reused on the next start), migrations applied, a local S3 store, development
// config. Any variable of .dev.vars.example set in the environment overrides the default.
// Ctrl-C stops everything this started.
import { join } from "node:path";
import { startApiProcess } from "./lib/api-process.mjs";
import { EMBEDDED, embeddedDataDir, embeddedDatabaseUrl, embeddedS3Dir, ensureDatabase } from "./lib/embedded.mjs";
import { Migrator } from "./lib/migrator.mjs";
import { EmbeddedPostgres } from "./lib/postgres.mjs";
import { assembleRuntime, bundleWorker, ROOT } from "./lib/runtime.mjs";
import { startS3, storageEnv } from "./lib/s3.mjs";

const say = (msg) => console.log(`[start] ${msg}`);
const stops = [];
let stopping = false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say("stopping…");
  for (const stop of stops.reverse()) await stop().catch((e) => console.error(`[start] ${e.message}`));
  process.exit(code);
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));

async function main() {
  const port = Number(process.env.SERVER_PORT || 8080);
  say("bundling the worker");
  await bundleWorker();
  await assembleRuntime();

  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const db = new EmbeddedPostgres({ dataDir: embeddedDataDir(), port: EMBEDDED.pgPort });
    say(`starting PostgreSQL 17 on 127.0.0.1:${EMBEDDED.pgPort} (data: ${db.dataDir})`);
    await db.start();
    stops.push(() => db.stop());
    await ensureDatabase(db.url(), EMBEDDED.database);
    databaseUrl = embeddedDatabaseUrl();
  }
  await new Migrator({ databaseUrl, dir: join(ROOT, "migrations"), log: (m) => say(m) }).up();

  let storage = {};
  if (!process.env.STORAGE_ENDPOINT) {
    const s3 = await startS3({ port: EMBEDDED.s3Port, directory: embeddedS3Dir() });
    stops.push(() => s3.close());
    say(`local S3 store on ${s3.endpoint} (bucket ${s3.bucket})`);
    storage = storageEnv(s3);
  }

  const env = {
    SERVER_ENVIRONMENT: "development",
    SERVER_PUBLIC_URL: `http://localhost:${port}`,
    FRONTEND_URL: "http://localhost:3000",
    METRICS_ENABLED: "true",
    ...storage,
    ...process.env,
    DATABASE_URL: databaseUrl,
  };
  const api = await startApiProcess({
    env,
    port,
    host: process.env.SERVER_HOST || "127.0.0.1",
    readyPath: "/health/ready",
    onOutput: (text) => process.stdout.write(text),
  });
  stops.push(() => api.stop());
  say(`Ignition API ready on ${api.url}  (Ctrl-C to stop)`);
  const code = await api.exited;
  if (!stopping) {
    say(`workerd exited with code ${code}`);
    await shutdown(1);
  }
}

main().catch(async (err) => {
  console.error(`[start] ${err.message}`);
  await shutdown(1);
});
