import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { benchSessionCookie, signSessionToken } from "../../scripts/lib/bench-fixtures.mjs";
import { Migrator } from "../../scripts/lib/migrator.mjs";
import { EmbeddedPostgres, freePort } from "../../scripts/lib/postgres.mjs";
import { ROOT } from "../../scripts/lib/runtime.mjs";
import { startApi, type ApiProcess } from "../support/api";
import { adminDatabaseUrl, apiEnv, databaseUrl } from "../support/env";
import { waitUntilBlockedBy } from "../support/locks";
import { connectClient, createScratchDatabase, dropDatabase, withClient } from "../support/database";

const POOL_TEST_SECRET = "pool-test-session-secret-0123456789-abcdefgh";

/** A PostgreSQL server of the test's own (in a temporary directory), migrated. */
async function ownMigratedServer(prefix: string): Promise<{ dir: string; pg: EmbeddedPostgres }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const pg = new EmbeddedPostgres({ dataDir: join(dir, "data"), port: await freePort() });
  await pg.start();
  await new Migrator({ databaseUrl: pg.url(), dir: join(ROOT, "migrations"), log: () => {} }).up();
  return { dir, pg };
}

/** Three requests at once to a route that needs the database all answer 503 "unavailable". */
async function expectUnavailable(api: ApiProcess): Promise<void> {
  const answers = await Promise.all([1, 2, 3].map(async () => {
    const res = await fetch(api.url + "/health/db");
    return [res.status, (await res.json()).message];
  }));
  expect(answers).toEqual(Array(3).fill([503, "The database is unavailable"]));
}

describe("database connections", () => {
  describe("with a process of its own on a database of its own", () => {
    let url: string;
    let api: ApiProcess;

    beforeAll(async () => {
      // Nothing else connects to this database, so every API backend on it belongs to this process.
      // Unmigrated: /health/db only runs SELECT 1. Idle connections are kept for the whole test.
      url = await createScratchDatabase(adminDatabaseUrl(), "ignition_pool");
      api = await startApi({
        SERVER_ENVIRONMENT: "development", DATABASE_URL: url, DATABASE_POOL_SIZE: "2", DATABASE_IDLE_TIMEOUT_MS: "600000", LOG_LEVEL: "error",
        SESSION_SECRET: POOL_TEST_SECRET,
      });
    });
    afterAll(async () => {
      await api?.stop();
      if (url) await dropDatabase(adminDatabaseUrl(), url);
    });

    /** The API's connections to this database (nothing else uses it). */
    const backends = () =>
      withClient(url, async (c) =>
        (await c.query(
          `SELECT pid, backend_start FROM pg_stat_activity
           WHERE datname = $1 AND application_name = 'ignition-api' AND pid <> pg_backend_pid() ORDER BY pid`,
          [new URL(url).pathname.slice(1)],
        )).rows as { pid: number; backend_start: Date }[],
      );

    it("reuses pooled connections across requests instead of connecting per request", async () => {
      expect((await fetch(api.url + "/health/db")).status).toBe(200); // the pool opens its connection
      const warm = await backends();
      expect(warm.length).toBeGreaterThan(0);
      const before = new Date();
      await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 30; i++) expect((await fetch(api.url + "/health/db")).status).toBe(200);
      // The same connections served all 30 requests: none opened, none replaced...
      const after = await backends();
      expect(after).toEqual(warm);
      // ...and each of them was opened before the requests started.
      for (const r of after) expect(r.backend_start.getTime()).toBeLessThan(before.getTime());
    });

    it("keeps a connection that answered an SQL error: only a broken one is replaced", async () => {
      expect((await fetch(api.url + "/health/db")).status).toBe(200);
      const warm = await backends();
      expect(warm.length).toBeGreaterThan(0);
      // This database is not migrated: a signed-in request's session lookup fails in PostgreSQL
      // (relation "sessions" does not exist), an answer from a healthy connection.
      const cookie = await signSessionToken("x".repeat(43), POOL_TEST_SECRET);
      for (let i = 0; i < 10; i++) {
        const r = await fetch(api.url + "/auth/sessions", { headers: { Cookie: `session=${cookie}` } });
        expect(r.status).toBe(500);
      }
      expect(await backends()).toEqual(warm);
    });
  });

  describe("when PostgreSQL stops and comes back", () => {
    let pg: EmbeddedPostgres;
    let api: ApiProcess;
    let dir: string;

    beforeAll(async () => {
      // Its own server, so stopping it does not disturb the other tests (even with DATABASE_URL).
      ({ dir, pg } = await ownMigratedServer("ignition-outage-"));
      api = await startApi(
        { SERVER_ENVIRONMENT: "development", DATABASE_URL: pg.url(), DATABASE_ACQUIRE_TIMEOUT_MS: "2000", LOG_LEVEL: "error" },
        "/health/ready",
      );
    });
    afterAll(async () => {
      await api?.stop();
      await pg?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("fails fast with 503 database_unavailable, then recovers on its own", async () => {
      expect((await fetch(api.url + "/health/db")).status).toBe(200);

      await pg.stop();
      const started = Date.now();
      const down = await fetch(api.url + "/health/db");
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ error: "database_unavailable", message: "The database is unavailable" });
      // Within the acquire timeout (2 s here), not hanging until a client gives up.
      expect(Date.now() - started).toBeLessThan(5000);
      const ready = await fetch(api.url + "/health/ready");
      expect(ready.status).toBe(503);
      expect((await ready.json()).checks.database.status).toBe("fail");

      await pg.start();
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await fetch(api.url + "/health/db")).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      expect((await fetch(api.url + "/health/ready")).status).toBe(200);
      // The process never crashed: the same workerd is still answering.
      expect(api.logs()).not.toMatch(/Uncaught|uncaught exception/i);
    });
  });

  describe("when every pooled connection is busy", () => {
    let api: ApiProcess;
    beforeAll(async () => {
      // One connection, given up on after 300 ms of waiting; the dev user makes signing in trivial.
      api = await startApi({ ...apiEnv(), AUTH_DEV_BYPASS: "true", DATABASE_POOL_SIZE: "1", DATABASE_ACQUIRE_TIMEOUT_MS: "300" });
    });
    afterAll(() => api?.stop());

    it("answers 503 'busy' with Retry-After (the database itself is fine), and serves again once a connection is free", async () => {
      const me = (await (await fetch(api.url + "/auth/session")).json()).user.id as string;
      await withClient(databaseUrl(), async (c) => {
        // Holding the user's focus lock makes a focus start wait in PostgreSQL on the one connection.
        await c.query("SELECT pg_advisory_lock(hashtext('focus'), hashtext($1))", [me]);
        const start = fetch(api.url + "/api/focus", { method: "POST", headers: { Origin: "http://localhost:3000" } });
        await waitUntilBlockedBy((await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
        const busy = await fetch(api.url + "/health/db");
        expect(busy.status).toBe(503);
        expect(busy.headers.get("Retry-After")).toBe("1");
        expect(await busy.json()).toMatchObject({ error: "database_unavailable", message: "The database is busy: no connection was free in time; try again" });
        await c.query("SELECT pg_advisory_unlock(hashtext('focus'), hashtext($1))", [me]);
        expect((await start).status).toBe(200);
      });
      expect((await fetch(api.url + "/health/db")).status).toBe(200);
    });
  });

  describe("when the database accepts connections but never answers", () => {
    let api: ApiProcess;
    let silent: net.Server;
    beforeAll(async () => {
      silent = net.createServer(() => {}); // takes the connection, says nothing
      const port = await freePort();
      await new Promise<void>((r) => silent.listen(port, "127.0.0.1", r));
      api = await startApi({
        SERVER_ENVIRONMENT: "development", DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db`, DATABASE_POOL_SIZE: "1",
        DATABASE_ACQUIRE_TIMEOUT_MS: "300", LOG_LEVEL: "error",
      });
    });
    afterAll(async () => {
      await api?.stop();
      silent?.close();
    });

    it("calls it unavailable, not busy, also for the requests queued behind the one connecting", async () => {
      await expectUnavailable(api);
    });
  });

  describe("when the connection is cut (a bare FIN) and the database then stops answering", () => {
    // A proxy in front of the test database that can cut its connections and then swallow new ones.
    let api: ApiProcess;
    let proxy: net.Server;
    let silent = false;
    const pairs: Array<[net.Socket, net.Socket]> = [];
    beforeAll(async () => {
      const target = new URL(databaseUrl());
      proxy = net.createServer((client) => {
        client.on("error", () => {});
        if (silent) return;
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        upstream.on("error", () => {});
        client.pipe(upstream).pipe(client);
        pairs.push([client, upstream]);
      });
      const port = await freePort();
      await new Promise<void>((r) => proxy.listen(port, "127.0.0.1", r));
      const url = new URL(databaseUrl());
      url.hostname = "127.0.0.1";
      url.port = String(port);
      api = await startApi({
        SERVER_ENVIRONMENT: "development", DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: "1", DATABASE_ACQUIRE_TIMEOUT_MS: "300",
        DATABASE_IDLE_TIMEOUT_MS: "600000", LOG_LEVEL: "error",
      });
    });
    afterAll(async () => {
      await api?.stop();
      proxy?.close();
      for (const [c, u] of pairs) (c.destroy(), u.destroy());
    });

    it("still calls it unavailable: the cut connection no longer counts as open", async () => {
      expect((await fetch(api.url + "/health/db")).status).toBe(200); // one pooled connection, idle
      for (const [c, u] of pairs) (c.unpipe(), u.unpipe(), u.destroy(), c.end()); // FIN, no PostgreSQL goodbye
      // Wait until the API's end of the connection has closed too.
      for (let i = 0; i < 50 && pairs.some(([c]) => !c.closed); i++) await new Promise((r) => setTimeout(r, 20));
      expect(pairs.every(([c]) => c.closed)).toBe(true);
      silent = true;
      await expectUnavailable(api);
    });
  });

  describe("when PostgreSQL stops answering but keeps the connection open", () => {
    let pg: EmbeddedPostgres;
    let api: ApiProcess;
    let dir: string;

    /** The postmaster and its backends (a frozen host or a network that drops packets looks the same). */
    const serverPids = () => {
      const root = pg.child!.pid!;
      const children = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => {
        try {
          return readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]!.split(" ")[1] === String(root);
        } catch {
          return false;
        }
      });
      return [root, ...children.map(Number)];
    };
    const signal = (sig: NodeJS.Signals) => { for (const pid of serverPids()) process.kill(pid, sig); };

    beforeAll(async () => {
      ({ dir, pg } = await ownMigratedServer("ignition-frozen-"));
      api = await startApi(
        { SERVER_ENVIRONMENT: "development", DATABASE_URL: pg.url(), DATABASE_STATEMENT_TIMEOUT_MS: "500", DATABASE_ACQUIRE_TIMEOUT_MS: "2000", LOG_LEVEL: "error" },
        "/health/ready",
      );
    });
    afterAll(async () => {
      signal("SIGCONT");
      await api?.stop();
      await pg?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("gives a silent connection up after statement timeout + 1 s (503), then works again", async () => {
      expect((await fetch(api.url + "/health/db")).status).toBe(200); // a pooled connection is open
      signal("SIGSTOP");
      let down: Response;
      const started = Date.now();
      try {
        down = await fetch(api.url + "/health/db");
      } finally {
        signal("SIGCONT");
      }
      const waited = Date.now() - started;
      expect(down.status).toBe(503);
      expect((await down.json()).error).toBe("database_unavailable");
      // The answer deadline (500 + 1000 ms) ended it: not at once, and not never.
      expect(waited).toBeGreaterThanOrEqual(1400);
      expect(waited).toBeLessThan(5000);
      expect((await fetch(api.url + "/health/db")).status).toBe(200);
      expect(api.logs()).not.toMatch(/Uncaught|uncaught exception/i);
    });

    it("gives up a whole batch of statements when its connection goes silent mid-batch (503, not a request that never ends)", async () => {
      // A keyed purchase's first batch is BEGIN, the key's lock, the key's read, a savepoint and
      // the item's read. The key's read is made to wait on a table lock, its backend is frozen
      // there, and the lock is let go: the batch's earlier statements never get their answer.
      const secret = "frozen-batch-session-secret-0123456789-abcd";
      const own = await startApi(
        { SERVER_ENVIRONMENT: "development", DATABASE_URL: pg.url(), DATABASE_STATEMENT_TIMEOUT_MS: "1500", SESSION_SECRET: secret, LOG_LEVEL: "error" },
        "/health/ready",
      );
      onTestFinished(() => own.stop());
      const cookie = await benchSessionCookie(pg.url(), secret);
      await withClient(pg.url(), (c) => c.query("INSERT INTO market_items (key, name, category, cost_coins) VALUES ('frozen-free', 'Free', 'test', 0)"));
      const holder = await connectClient(pg.url());
      let frozen: number[] = [];
      try {
        const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
        await holder.query("BEGIN");
        await holder.query("LOCK TABLE idempotency_keys IN ACCESS EXCLUSIVE MODE");
        const started = Date.now();
        const purchase = fetch(own.url + "/api/market/purchase", {
          method: "POST",
          headers: { Cookie: cookie, Origin: "http://localhost:3000", "Content-Type": "application/json", "Idempotency-Key": "frozen-1" },
          body: JSON.stringify({ item_key: "frozen-free" }),
        });
        frozen = await waitUntilBlockedBy(holderPid, { url: pg.url() });
        for (const pid of frozen) process.kill(pid, "SIGSTOP");
        await holder.query("COMMIT");
        const down = await purchase;
        const waited = Date.now() - started;
        expect(down.status).toBe(503);
        expect((await down.json()).error).toBe("database_unavailable");
        // The batch's deadline (5 statements × 1500 ms + 1000 ms) ended it.
        expect(waited).toBeGreaterThanOrEqual(8000);
      } finally {
        for (const pid of frozen) process.kill(pid, "SIGCONT");
        await holder.end();
      }
      expect((await fetch(own.url + "/health/db")).status).toBe(200);
    }, 25_000);
  });
});
