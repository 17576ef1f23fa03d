import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator, readMigrations } from "../../scripts/lib/migrator.mjs";
import { ROOT } from "../../scripts/lib/runtime.mjs";
import { startApi, type ApiProcess } from "../support/api";
import { createScratchDatabase, dropDatabase, withClient } from "../support/database";
import { adminDatabaseUrl } from "../support/env";

const MIGRATIONS = join(ROOT, "migrations");
const files = readMigrations(MIGRATIONS);
const quiet = () => {};

async function ready(api: ApiProcess) {
  const res = await fetch(api.url + "/health/ready");
  return { status: res.status, body: await res.json() };
}

describe("readiness checks the schema version the build expects (baked into the bundle)", () => {
  let url: string;
  let api: ApiProcess;
  beforeAll(async () => {
    url = await createScratchDatabase(adminDatabaseUrl(), "ignition_schema");
    api = await startApi({ SERVER_ENVIRONMENT: "development", DATABASE_URL: url, LOG_LEVEL: "error" });
  });
  afterAll(async () => {
    await api?.stop();
    await dropDatabase(adminDatabaseUrl(), url);
  });

  it("is not ready on a database that was never migrated, naming every missing file", async () => {
    const { status, body } = await ready(api);
    expect(status).toBe(503);
    expect(body.checks.database.status).toBe("ok");
    const newest = String(files.at(-1)!.version).padStart(4, "0");
    expect(body.checks.schema).toEqual({
      status: "fail",
      message: `database schema is at 0000; this build needs ${newest}: missing ${files.map((f) => f.file).join(", ")} (run the migrations: migrate up)`,
    });
  });

  it("is not ready when migrated only partly (all but the newest), naming what is left", async () => {
    const partial = files.at(-2)?.version ?? 0; // with one migration: schema_migrations exists but is empty
    await new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: quiet }).up(partial);
    const { status, body } = await ready(api);
    expect(status).toBe(503);
    const left = files.filter((f) => f.version > partial).map((f) => f.file);
    expect(body.checks.schema.message).toContain(`database schema is at ${String(partial).padStart(4, "0")};`);
    expect(body.checks.schema.message).toContain(`missing ${left.join(", ")} (`);
  });

  it("becomes ready, without a restart, once the migrations are applied", async () => {
    await new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: quiet }).up();
    const { status, body } = await ready(api);
    expect(status).toBe(200);
    expect(body.checks.schema).toEqual({ status: "ok" });
  });
});

describe("a schema newer than the build (an image rolled back, migrations kept)", () => {
  let url: string;
  let api: ApiProcess;
  beforeAll(async () => {
    url = await createScratchDatabase(adminDatabaseUrl(), "ignition_schema");
    await new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: quiet }).up();
    await withClient(url, (c) => c.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'from_the_future', 'x')"));
    api = await startApi({ SERVER_ENVIRONMENT: "development", DATABASE_URL: url, LOG_LEVEL: "error" });
  });
  afterAll(async () => {
    await api?.stop();
    await dropDatabase(adminDatabaseUrl(), url);
  });

  it("is ready", async () => {
    const { status, body } = await ready(api);
    expect(status).toBe(200);
    expect(body.checks.schema.status).toBe("ok");
  });
});
