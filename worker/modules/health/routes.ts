import type { AppContext } from "../../context";
import { databaseTarget, describeDbFailure } from "../../db/errors";
import { appliedMigrations, EXPECTED_MIGRATIONS, schemaProblem } from "../../db/schema-version";
import { AppError } from "../../http/errors";
import { json } from "../../http/response";
import type { AppRouter } from "../../router";

const READY_DB_TIMEOUT_MS = 1000;
const READY_STORAGE_TIMEOUT_MS = 1000;

type Check =
  | { status: "ok" }
  | { status: "disabled"; message: string }
  | { status: "fail"; message: string; problems?: { variable: string; message: string }[] };

const OK: Check = { status: "ok" };
const fail = (message: string): Check => ({ status: "fail", message });

// Once the schema is new enough it stays so (migrations only move forward while the API runs),
// so each isolate reads schema_migrations until the first success and never again.
let schemaOk = false;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function checkDatabase(ctx: AppContext): Promise<Check> {
  try {
    await withTimeout(ctx.db().query("SELECT 1"), READY_DB_TIMEOUT_MS, "the database");
    return OK;
  } catch (err) {
    const url = ctx.config.database.url;
    return fail(`cannot reach the database at ${databaseTarget(url)} (DATABASE_URL): ${describeDbFailure(err, url)}`);
  }
}

async function checkSchema(ctx: AppContext): Promise<Check> {
  if (schemaOk) return OK;
  try {
    const applied = await withTimeout(appliedMigrations(ctx.db()), READY_DB_TIMEOUT_MS, "the database");
    const problem = schemaProblem(applied, EXPECTED_MIGRATIONS);
    if (problem !== null) return fail(problem);
    schemaOk = true;
    return OK;
  } catch (err) {
    return fail(`cannot read schema_migrations: ${describeDbFailure(err, ctx.config.database.url)}`);
  }
}

/** Storage is optional: not configured is "disabled", not a failure; configured but unreachable fails. */
async function checkStorage(ctx: AppContext): Promise<Check> {
  if (ctx.problems.some((p) => p.variable.startsWith("STORAGE_"))) {
    return fail("not checked: the storage configuration is invalid");
  }
  if (ctx.config.storage === null) return { status: "disabled", message: "STORAGE_* are not set: uploads are off" };
  try {
    await withTimeout(ctx.storage().ping(), READY_STORAGE_TIMEOUT_MS, "the object store");
    return OK;
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return fail(cause instanceof Error ? cause.message : err instanceof Error ? err.message : "the object store is unreachable");
  }
}

async function ready(ctx: AppContext): Promise<Response> {
  const checks: Record<string, Check> = {};
  checks.config =
    ctx.problems.length === 0
      ? OK
      : {
          status: "fail",
          message: `invalid configuration: ${[...new Set(ctx.problems.map((p) => p.variable))].join(", ")}`,
          problems: ctx.problems,
        };
  const databaseAndSchema = async (): Promise<[Check, Check]> => {
    if (ctx.problems.some((p) => p.variable.startsWith("DATABASE_"))) {
      return [fail("not checked: the database configuration is invalid"), fail("not checked: the database check failed")];
    }
    const database = await checkDatabase(ctx);
    return [database, database.status === "ok" ? await checkSchema(ctx) : fail("not checked: the database check failed")];
  };
  const [[database, schema], storage] = await Promise.all([databaseAndSchema(), checkStorage(ctx)]);
  checks.database = database;
  checks.schema = schema;
  checks.storage = storage;
  // "disabled" (storage not configured) is not a failure.
  const ok = Object.values(checks).every((c) => c.status !== "fail");
  return json({ status: ok ? "ready" : "not_ready", version: ctx.version, checks }, ok ? 200 : 503);
}

export function healthRoutes(router: AppRouter): void {
  router
    .get("/", (_req, ctx) =>
      new Response(`Ignition API ${ctx.version}\n`, { headers: { "Content-Type": "text/plain; charset=utf-8" } }),
    )
    .get("/health", (_req, ctx) => json({ status: "ok", version: ctx.version }))
    .get("/health/live", () => json({ status: "alive" }))
    .get("/health/ready", (_req, ctx) => ready(ctx))
    // One database round trip through the pool, with the pool's own timeouts: 503 database_unavailable
    // when PostgreSQL cannot answer.
    .get("/health/db", async (_req, ctx) => {
      const started = Date.now();
      await ctx.db().query("SELECT 1");
      return json({ status: "connected", latency_ms: Date.now() - started });
    })
    .get("/metrics", (_req, ctx) => {
      if (!ctx.config.metricsEnabled) throw new AppError("not_found", "Metrics are disabled (METRICS_ENABLED)");
      return new Response(ctx.metrics.render(ctx.config.instance, ctx.version, ctx.dbStats()), {
        headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    });
}
