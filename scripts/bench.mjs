#!/usr/bin/env node
// npm run bench: throughput and latency of the real workerd (container config and bundle) against
// PostgreSQL (embedded 17, or DATABASE_URL), driven by autocannon over loopback; then blob
// transfers through the API vs straight to a local S3 server, and workerd's memory while doing so.
// Options (env): BENCH_DURATION seconds per scenario (default 10), BENCH_CONNECTIONS (default 10),
// BENCH_TRANSFERS per storage figure (default 7), BENCH_ONLY=http|storage to run one half.
// Also measures the DB-backed route with WORKERS=1 and WORKERS=2 workerd processes behind one port
// (launch.mjs), reconnecting every BENCH_RECONNECT requests (default 100), and workerd's resident
// memory after BENCH_MEMORY_REQUESTS requests (default 10,000). Each HTTP scenario also reports the
// CPU time per request of workerd and of PostgreSQL (when it runs on this machine) and how busy
// all cores were, from /proc.
import autocannon from "autocannon";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rssBytes, startApiProcess } from "./lib/api-process.mjs";
import { benchSessionCookie, focusCompleteRequests, purchaseRequests, refreshStatistics } from "./lib/bench-fixtures.mjs";
import { Migrator } from "./lib/migrator.mjs";
import { EmbeddedPostgres, freePort } from "./lib/postgres.mjs";
import { assembleRuntime, bundleWorker, ROOT } from "./lib/runtime.mjs";
import { benchStorage } from "./lib/bench-storage.mjs";
import { cpuMeter } from "./lib/cpu.mjs";

const DURATION = Number(process.env.BENCH_DURATION || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 10);
const MEMORY_REQUESTS = Number(process.env.BENCH_MEMORY_REQUESTS || 10_000);
const RECONNECT = Number(process.env.BENCH_RECONNECT || 100);
const ONLY = process.env.BENCH_ONLY || "";
const cleanups = [];
const BENCH_SECRET = "bench-session-secret-0123456789-abcdefghijkl";

function run(url, title, options) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, title, ...options }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
/** Resident memory of all workerd processes of one API (VmRSS, summed). */
const workerdRss = (api) => api.workerPids().reduce((sum, pid) => sum + rssBytes(pid), 0);

/** RSS of a freshly started API's workerd processes, then after exactly `n` requests. */
async function memory(api, workers, n) {
  const start = workerdRss(api);
  const r = await run(api.url + "/health/ready", "memory", { amount: n });
  const after = workerdRss(api);
  console.log(`  workerd memory, WORKERS=${workers}: ${mb(start)} at start, ${mb(after)} after ${r.requests.total.toLocaleString("en")} requests (${r.non2xx ?? 0} non-2xx)`);
  return { workers, start, after };
}

async function scenario(name, url, options = {}, databaseUrl = null) {
  await run(url, "warm-up", { duration: DURATION, ...options }).catch(() => {}); // fills pools and JIT; not reported
  if (databaseUrl) await refreshStatistics(databaseUrl);
  const cpu = cpuMeter();
  const r = await run(url, name, { duration: DURATION, ...options });
  const used = cpu();
  const perRequest = (ms) => (used && r.requests.total > 0 ? Math.round((ms * 1000) / r.requests.total) : null);
  const row = {
    scenario: name,
    "req/s": Math.round(r.requests.average),
    "p50 ms": r.latency.p50,
    "p99 ms": r.latency.p99,
    errors: r.errors + r.timeouts + (r.non2xx ?? 0),
    // CPU per request (µs) of workerd and of local PostgreSQL processes, and how busy all cores were.
    "workerd µs": perRequest(used?.workerdMs ?? 0),
    "postgres µs": perRequest(used?.postgresMs ?? 0),
    "cpu busy": used ? `${Math.round(used.machineBusy * 100)}%` : null,
  };
  console.log(`  ${name}: ${row["req/s"]} req/s, p50 ${row["p50 ms"]} ms, p99 ${row["p99 ms"]} ms, errors ${row.errors}; CPU per request: workerd ${row["workerd µs"]} µs, postgres ${row["postgres µs"]} µs; all cores ${row["cpu busy"]} busy`);
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
  if (ONLY !== "storage") await benchHttp(base, databaseUrl);
  if (ONLY !== "http") await benchStorage({ env: base, cookie: await benchSessionCookie(databaseUrl, BENCH_SECRET), cleanups });
}

async function benchHttp(base, databaseUrl) {
  const start = async (env) => {
    const api = await startApiProcess({ env: { ...base, ...env }, port: await freePort(), readyPath: "/health/ready" });
    cleanups.push(() => api.stop());
    return api;
  };
  const pooled = await start({ WORKERS: "1" });
  const twoWorkers = await start({ WORKERS: "2" });
  const fresh = await start({ WORKERS: "1", DATABASE_POOLING: "per-request" });

  // Memory first, on processes that have served nothing but their readiness probe.
  const memoryRows = [await memory(pooled, 1, MEMORY_REQUESTS), await memory(twoWorkers, 2, MEMORY_REQUESTS)];

  const rows = [];
  rows.push(await scenario("bare JSON (GET /health)", pooled.url + "/health"));
  rows.push(await scenario("DB round trip, pooled (GET /health/ready)", pooled.url + "/health/ready"));
  rows.push(await scenario("DB round trip, fresh connection per request", fresh.url + "/health/ready"));
  const cookie = await benchSessionCookie(databaseUrl, BENCH_SECRET);
  rows.push(await scenario("authenticated GET (GET /auth/sessions)", pooled.url + "/auth/sessions", { headers: { Cookie: cookie } }));
  // Each focus completion needs its own live session: enough for warm-up and run at a high rate.
  const focus = await focusCompleteRequests(databaseUrl, Math.max(20_000, DURATION * 2 * 3000), BENCH_SECRET);
  rows.push(await scenario("focus complete, rewarded (POST /api/focus/{id}/complete)", pooled.url, focus, databaseUrl));
  const buy = await purchaseRequests(databaseUrl, 200, BENCH_SECRET);
  rows.push(await scenario("purchase with Idempotency-Key (POST /api/market/purchase)", pooled.url, buy, databaseUrl));
  // Several processes accept on one socket, and a kept-alive connection stays with the process
  // that accepted it: a fixed set of connections can end up unevenly spread. Clients and proxies
  // open connections all the time, so the comparison reconnects every RECONNECT requests.
  const churn = { reconnectRate: RECONNECT };
  rows.push(await scenario(`DB round trip, WORKERS=1, reconnect every ${RECONNECT}`, pooled.url + "/health/ready", churn));
  rows.push(await scenario(`DB round trip, WORKERS=2, reconnect every ${RECONNECT}`, twoWorkers.url + "/health/ready", churn));
  rows.push(await scenario("DB round trip, WORKERS=2, kept-alive connections", twoWorkers.url + "/health/ready"));
  console.table(rows);
  console.table(memoryRows.map((m) => ({ WORKERS: m.workers, "RSS at start": mb(m.start), [`RSS after ${MEMORY_REQUESTS} requests`]: mb(m.after) })));

  const [bare, db, perRequest, authed, focusRate, buyRate, churn1, churn2, kept2] = rows.map((r) => r["req/s"]);
  // Informational: on a 2-core machine autocannon and PostgreSQL compete with workerd for the CPUs.
  console.log(`INFO  WORKERS=2 vs WORKERS=1 on the DB route: ${(churn2 / churn1).toFixed(2)}× (${churn2} vs ${churn1} req/s, reconnecting every ${RECONNECT} requests)`);
  console.log(`INFO  WORKERS=2 with kept-alive connections vs WORKERS=1: ${(kept2 / db).toFixed(2)}× (${kept2} vs ${db} req/s)`);
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
