#!/usr/bin/env node
// npm run bench: throughput and latency of the real workerd (container config and bundle) against
// PostgreSQL (embedded 17, or DATABASE_URL), driven by autocannon over loopback; then blob
// transfers through the API vs straight to a local S3 server, and workerd's memory while doing so.
// Options (env): BENCH_DURATION seconds per scenario (default 10), BENCH_CONNECTIONS (default 10),
// BENCH_TRANSFERS per storage figure (default 7), BENCH_ONLY=http|storage to run one half.
import autocannon from "autocannon";
import { SignJWT } from "jose";
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiProcess } from "./lib/api-process.mjs";
import { Migrator } from "./lib/migrator.mjs";
import { EmbeddedPostgres, freePort } from "./lib/postgres.mjs";
import { assembleRuntime, bundleWorker, ROOT } from "./lib/runtime.mjs";
import { benchStorage } from "./lib/bench-storage.mjs";

const DURATION = Number(process.env.BENCH_DURATION || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 10);
const ONLY = process.env.BENCH_ONLY || "";
const cleanups = [];
const BENCH_SECRET = "bench-session-secret-0123456789-abcdefghijkl";

/** A user and a live session made directly in the database, with the cookie the API would sign. */
async function benchSession(databaseUrl) {
  const token = randomBytes(32).toString("base64url");
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      "INSERT INTO users (name, email) VALUES ('Bench', $1) RETURNING id",
      [`bench-${token.slice(0, 8)}@example.com`],
    );
    await client.query("INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE name = 'user'", [rows[0].id]);
    await client.query(
      "INSERT INTO sessions (user_id, token_hash, expires_at, idle_expires_at) VALUES ($1, $2, now() + interval '1 day', now() + interval '1 day')",
      [rows[0].id, createHash("sha256").update(token).digest()],
    );
  } finally {
    await client.end();
  }
  const jwt = await new SignJWT({ sid: token })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("ignition-api")
    .setIssuedAt()
    .setExpirationTime("1d")
    .sign(new TextEncoder().encode(BENCH_SECRET));
  return `session=${jwt}`;
}

function run(url, title, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION, title, headers }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function scenario(name, url, headers) {
  await run(url, "warm-up", headers).catch(() => {}); // fills pools and JIT; not reported
  const r = await run(url, name, headers);
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

  const base = { SERVER_ENVIRONMENT: "development", DATABASE_URL: databaseUrl, LOG_LEVEL: "error", SESSION_SECRET: BENCH_SECRET };
  if (ONLY !== "storage") await benchHttp(base, databaseUrl);
  if (ONLY !== "http") await benchStorage({ env: base, cookie: await benchSession(databaseUrl), cleanups });
}

async function benchHttp(base, databaseUrl) {
  const pooled = await startApiProcess({ env: base, port: await freePort(), readyPath: "/health/ready" });
  cleanups.push(() => pooled.stop());
  const fresh = await startApiProcess({ env: { ...base, DATABASE_POOLING: "per-request" }, port: await freePort(), readyPath: "/health/ready" });
  cleanups.push(() => fresh.stop());

  const rows = [];
  rows.push(await scenario("bare JSON (GET /health)", pooled.url + "/health"));
  rows.push(await scenario("DB round trip, pooled (GET /health/ready)", pooled.url + "/health/ready"));
  rows.push(await scenario("DB round trip, fresh connection per request", fresh.url + "/health/ready"));
  const cookie = await benchSession(databaseUrl);
  rows.push(await scenario("authenticated GET (GET /auth/sessions)", pooled.url + "/auth/sessions", { Cookie: cookie }));
  console.table(rows);

  const [bare, db, perRequest, authed] = rows.map((r) => r["req/s"]);
  const targets = [
    [`pooled DB route ≥ 50% of bare route`, db / bare, 0.5],
    [`pooled DB route ≥ 10× fresh-connection route`, db / perRequest, 10],
    [`authenticated GET ≥ 40% of bare route`, authed / bare, 0.4],
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
