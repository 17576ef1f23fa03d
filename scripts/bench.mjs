#!/usr/bin/env node
// npm run bench: throughput and latency of the real workerd (container config and bundle) against
// PostgreSQL (embedded 17, or DATABASE_URL), driven by autocannon over loopback.
// Options (env): BENCH_DURATION seconds per scenario (default 10), BENCH_CONNECTIONS (default 10).
import autocannon from "autocannon";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiProcess } from "./lib/api-process.mjs";
import { benchSessionCookie, focusCompleteRequests, purchaseRequests } from "./lib/bench-fixtures.mjs";
import { Migrator } from "./lib/migrator.mjs";
import { EmbeddedPostgres, freePort } from "./lib/postgres.mjs";
import { assembleRuntime, bundleWorker, ROOT } from "./lib/runtime.mjs";

const DURATION = Number(process.env.BENCH_DURATION || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 10);
const cleanups = [];
const BENCH_SECRET = "bench-session-secret-0123456789-abcdefghijkl";

function run(url, title, headers, extra) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION, title, headers, ...extra }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/** `extra`: more autocannon options, e.g. per-request paths and headers (economy scenarios). */
async function scenario(name, url, headers, extra) {
  await run(url, "warm-up", headers, extra).catch(() => {}); // fills pools and JIT; not reported
  const r = await run(url, name, headers, extra);
  const row = {
    scenario: name,
    "req/s": Math.round(r.requests.average),
    "p50 ms": r.latency.p50,
    "p99 ms": r.latency.p99,
    errors: r.errors + r.timeouts + (r.non2xx ?? 0),
  };
  console.log(`  ${name}: ${row["req/s"]} req/s, p50 ${row["p50 ms"]} ms, p99 ${row["p99 ms"]} ms, errors ${row.errors}`);
  return row;
}

async function main() {
  console.log(`bench: ${DURATION}s per scenario, ${CONNECTIONS} connections, autocannon on loopback`);
  await bundleWorker();
  await assembleRuntime();

  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const dir = mkdtempSync(join(tmpdir(), "ignition-bench-pg-"));
    chmodSync(dir, 0o755);
    const pg = new EmbeddedPostgres({ dataDir: join(dir, "data"), port: await freePort() });
    await pg.start();
    cleanups.push(async () => (await pg.stop(), rmSync(dir, { recursive: true, force: true })));
    databaseUrl = pg.url();
  }
  await new Migrator({ databaseUrl, dir: join(ROOT, "migrations"), log: () => {} }).up();

  // The API's per-user write limit would turn a benchmark into a 429 test.
  const base = { SERVER_ENVIRONMENT: "development", DATABASE_URL: databaseUrl, LOG_LEVEL: "error", SESSION_SECRET: BENCH_SECRET, RATE_LIMIT_API_PER_MINUTE: "1000000" };
  const pooled = await startApiProcess({ env: base, port: await freePort(), readyPath: "/health/ready" });
  cleanups.push(() => pooled.stop());
  const fresh = await startApiProcess({ env: { ...base, DATABASE_POOLING: "per-request" }, port: await freePort(), readyPath: "/health/ready" });
  cleanups.push(() => fresh.stop());

  const rows = [];
  rows.push(await scenario("bare JSON (GET /health)", pooled.url + "/health"));
  rows.push(await scenario("DB round trip, pooled (GET /health/ready)", pooled.url + "/health/ready"));
  rows.push(await scenario("DB round trip, fresh connection per request", fresh.url + "/health/ready"));
  const cookie = await benchSessionCookie(databaseUrl, BENCH_SECRET);
  rows.push(await scenario("authenticated GET (GET /auth/sessions)", pooled.url + "/auth/sessions", { Cookie: cookie }));
  // Each focus completion needs its own live session: enough for warm-up and run at a high rate.
  const focus = await focusCompleteRequests(databaseUrl, Math.max(20_000, DURATION * 2 * 3000), BENCH_SECRET);
  rows.push(await scenario("focus complete, rewarded (POST /api/focus/{id}/complete)", pooled.url, undefined, focus));
  const buy = await purchaseRequests(databaseUrl, 200, BENCH_SECRET);
  rows.push(await scenario("purchase with Idempotency-Key (POST /api/market/purchase)", pooled.url, undefined, buy));
  console.table(rows);

  const [bare, db, perRequest, authed, focusRate, buyRate] = rows.map((r) => r["req/s"]);
  const targets = [
    [`pooled DB route ≥ 50% of bare route`, db / bare, 0.5],
    [`pooled DB route ≥ 10× fresh-connection route`, db / perRequest, 10],
    [`authenticated GET ≥ 40% of bare route`, authed / bare, 0.4],
    [`focus complete ≥ 25% of bare route`, focusRate / bare, 0.25],
    [`purchase ≥ 25% of bare route`, buyRate / bare, 0.25],
  ];
  for (const [label, ratio, min] of targets) {
    console.log(`${ratio >= min ? "PASS" : "MISS"}  ${label}: ${ratio.toFixed(2)}${min >= 1 ? "×" : ""} (${(ratio * (min >= 1 ? 1 : 100)).toFixed(min >= 1 ? 1 : 0)}${min >= 1 ? "×" : "%"})`);
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });
