import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startApiProcess } from "../../scripts/lib/api-process.mjs";
import { Migrator } from "../../scripts/lib/migrator.mjs";
import { EmbeddedPostgres, freePort } from "../../scripts/lib/postgres.mjs";
import { assembleRuntime, bundleWorker, readVersion, ROOT } from "../../scripts/lib/runtime.mjs";
import { createScratchDatabase, dropDatabase } from "./database";

/**
 * Builds the bundle and the runtime folder, starts PostgreSQL (embedded 17 unless DATABASE_URL
 * names an external server), migrates a fresh database and starts one shared API process.
 */
export default async function setup(project: TestProject) {
  await bundleWorker();
  await assembleRuntime();

  const cleanups: Array<() => Promise<void>> = [];
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = mkdtempSync(join(tmpdir(), "ignition-test-pg-"));
    chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user when we are root
    const pg = new EmbeddedPostgres({ dataDir: join(dir, "data"), port: await freePort() });
    await pg.start();
    cleanups.push(async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    adminUrl = pg.url();
  }
  const databaseUrl = await createScratchDatabase(adminUrl, "ignition_test");
  cleanups.push(() => dropDatabase(adminUrl!, databaseUrl));
  await new Migrator({ databaseUrl, dir: join(ROOT, "migrations"), log: () => {} }).up();

  const apiEnv = {
    SERVER_ENVIRONMENT: "development",
    DATABASE_URL: databaseUrl,
    CORS_ALLOWED_ORIGINS: "http://localhost:3000,https://app.example.com",
    METRICS_ENABLED: "true",
    LOG_LEVEL: "warn",
  };
  const api = await startApiProcess({ env: apiEnv, port: await freePort(), readyPath: "/health/ready" });
  cleanups.push(() => api.stop());

  project.provide("apiUrl", api.url);
  project.provide("databaseUrl", databaseUrl);
  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("apiEnv", apiEnv);
  project.provide("version", readVersion());

  return async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error(e));
  };
}
