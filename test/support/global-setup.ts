import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startApiProcess } from "../../scripts/lib/api-process.mjs";
import { Migrator } from "../../scripts/lib/migrator.mjs";
import { EmbeddedPostgres, freePort } from "../../scripts/lib/postgres.mjs";
import { assembleRuntime, bundleWorker, readVersion, ROOT } from "../../scripts/lib/runtime.mjs";
import { startS3, storageEnv } from "../../scripts/lib/s3.mjs";
import { createScratchDatabase, dropDatabase } from "./database";
import { oidcEnv, startOidcStandIn } from "./oidc-provider";

/**
 * Builds the bundle and the runtime folder, starts PostgreSQL (embedded 17 unless DATABASE_URL
 * names an external server) and the signature-checking S3 server, migrates a fresh database and
 * starts one shared API process.
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

  const s3Dir = mkdtempSync(join(tmpdir(), "ignition-test-s3-"));
  const s3 = await startS3({ port: await freePort(), directory: s3Dir });
  cleanups.push(async () => {
    await s3.close();
    rmSync(s3Dir, { recursive: true, force: true });
  });
  const oidc = await startOidcStandIn();
  cleanups.push(() => oidc.close());

  const port = await freePort();
  const apiEnv = {
    SERVER_ENVIRONMENT: "development",
    DATABASE_URL: databaseUrl,
    SERVER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    FRONTEND_URL: "http://localhost:3000",
    CORS_ALLOWED_ORIGINS: "http://localhost:3000,https://app.example.com",
    SESSION_SECRET: "test-session-secret-0123456789-abcdefghij",
    METRICS_ENABLED: "true",
    LOG_LEVEL: "warn",
    ...oidcEnv(oidc),
    ...storageEnv(s3),
  };
  const api = await startApiProcess({ env: apiEnv, port, readyPath: "/health/ready" });
  cleanups.push(() => api.stop());

  project.provide("apiUrl", api.url);
  project.provide("databaseUrl", databaseUrl);
  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("apiEnv", apiEnv);
  project.provide("version", readVersion());
  project.provide("storage", { ...storageEnv(s3), directory: s3Dir });

  return async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error(e));
  };
}
