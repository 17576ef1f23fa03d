// What happens around the endpoints: stale pending uploads expire, a deleted user's objects are
// deleted by the storage sweep (admin endpoint or opportunistic), and the server without storage
// (503 storage_unavailable, readiness "disabled") or with storage it cannot reach (readiness fails).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../scripts/lib/migrator.mjs";
import { ROOT } from "../../scripts/lib/runtime.mjs";
import { startApi, type ApiProcess } from "../support/api";
import { bytes, objectInStore, s3Client, signedIn, uploadRaw } from "../support/blobs";
import type { Browser } from "../support/browser";
import { createScratchDatabase, dropDatabase, withClient } from "../support/database";
import { adminCli } from "../support/economy";
import { adminDatabaseUrl, apiEnv, databaseUrl } from "../support/env";

const me = async (b: Browser) => (await (await b.fetch("/auth/session")).json()).user as { id: string; email: string };

/** Grants the admin role with the admin CLI (the session gets a new id on its next request). */
async function admin(url?: string, dbUrl = databaseUrl()): Promise<Browser> {
  const b = await signedIn(url);
  const res = adminCli(["grant-role", (await me(b)).email, "admin"], dbUrl);
  expect(res.stderr).toBe("");
  expect(res.status).toBe(0);
  expect((await (await b.fetch("/auth/session")).json()).user.role).toBe("admin");
  return b;
}

async function presignedUpload(b: Browser, body: string) {
  const u = await (await b.post("/api/blobs/upload-url", { filename: "late.txt", mime_type: "text/plain" })).json();
  expect((await fetch(u.url, { method: "PUT", headers: u.headers, body })).status).toBe(200);
  return u as { id: string; key: string };
}

const sweep = async (b: Browser) => {
  const res = await b.post("/admin/storage/sweep");
  expect(res.status).toBe(200);
  return res.json();
};

const processes: ApiProcess[] = [];
const scratch: string[] = [];
afterAll(async () => {
  for (const p of processes) await p.stop();
  for (const u of scratch) await dropDatabase(adminDatabaseUrl(), u);
});

/** A new migrated database, dropped after the file. */
async function migratedScratchDatabase(prefix: string): Promise<string> {
  const dbUrl = await createScratchDatabase(adminDatabaseUrl(), prefix);
  scratch.push(dbUrl);
  await new Migrator({ databaseUrl: dbUrl, dir: join(ROOT, "migrations"), log: () => {} }).up();
  return dbUrl;
}

describe("storage sweep", () => {
  // A sweep expires every user's stale uploads and works off the whole deletion queue, and every
  // API process sweeps on its own now and then (on its first blob request, then every 10 minutes).
  // On the shared database another file's process could therefore do a test's work before the
  // sweep under test runs. So these tests use a database of their own, served by one API process
  // whose own opportunistic sweep has already run (see beforeAll): only the sweeps a test starts
  // can touch its rows.
  let dbUrl: string;
  let api: ApiProcess;
  const sql = (text: string, params: unknown[] = []) => withClient(dbUrl, async (c) => (await c.query(text, params)).rows);

  beforeAll(async () => {
    dbUrl = await migratedScratchDatabase("ignition_sweep");
    api = await startApi({ ...apiEnv(), DATABASE_URL: dbUrl }, "/health/ready");
    processes.push(api);
    // The process sweeps after its first blob request. A due queue entry (for an object that does
    // not exist; deleting it succeeds) tells when that sweep has finished: it drops the entry last.
    const probe = `sweep-probe/${Date.now()}.txt`;
    await sql("INSERT INTO blob_deletions (key) VALUES ($1)", [probe]);
    expect((await (await signedIn(api.url)).fetch("/api/blobs/usage")).status).toBe(200);
    for (let i = 0; i < 100 && (await sql("SELECT 1 FROM blob_deletions WHERE key = $1", [probe])).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await sql("SELECT key FROM blob_deletions WHERE key = $1", [probe]), "the new process's first sweep did not finish within 10 s").toEqual([]);
  });

  it("expires pending uploads older than a day (row and object), and keeps younger ones", async () => {
    const b = await signedIn(api.url);
    const stale = await presignedUpload(b, "never completed");
    const young = await presignedUpload(b, "still uploading");
    await sql("UPDATE blobs SET created_at = now() - interval '25 hours' WHERE id = $1", [stale.id]);
    // Nothing else is due on this database: the sweep's counts are exactly this test's upload.
    expect(await sweep(await admin(api.url, dbUrl))).toEqual({ expired_uploads: 1, deleted_objects: 1, failed_objects: 0 });
    expect(await sql("SELECT id FROM blobs WHERE id = ANY($1::uuid[])", [[stale.id, young.id]])).toEqual([{ id: young.id }]);
    expect(await objectInStore(stale.key)).toBeNull();
    expect(await objectInStore(young.key)).not.toBeNull();
    // The young one can still be completed.
    expect((await b.post(`/api/blobs/${young.id}/complete`)).status).toBe(200);
  });

  it("deleting a user queues all their objects (users cascade + trigger); the sweep deletes them", async () => {
    const b = await signedIn(api.url);
    const user = await me(b);
    const kept = await (await uploadRaw(b, bytes(2000), "image/jpeg")).json();
    const other = await (await uploadRaw(b, bytes(3000), "application/json")).json();
    const pending = await presignedUpload(b, "in flight");
    // Made more than 10 minutes ago: no upload URL of theirs can still be valid.
    await sql("UPDATE blobs SET created_at = now() - interval '11 minutes' WHERE key = ANY($1)", [[kept.key, other.key]]);

    await sql("DELETE FROM users WHERE id = $1", [user.id]);
    expect(await sql("SELECT id FROM blobs WHERE user_id = $1", [user.id])).toEqual([]);
    const queued = await sql("SELECT key, not_before <= now() AS due FROM blob_deletions WHERE key LIKE $1 ORDER BY key", [`${user.id}/%`]);
    expect(queued).toHaveLength(3);
    // A blob made in the last 10 minutes may still have a live upload URL: its object waits until then.
    expect(queued.filter((q) => !q.due).map((q) => q.key)).toEqual([pending.key]);

    await sweep(await admin(api.url, dbUrl));
    expect(await objectInStore(kept.key)).toBeNull();
    expect(await objectInStore(other.key)).toBeNull();
    expect(await sql("SELECT key FROM blob_deletions WHERE key LIKE $1", [`${user.id}/%`])).toEqual([{ key: pending.key }]);

    await sql("UPDATE blob_deletions SET not_before = now() WHERE key = $1", [pending.key]);
    await sweep(await admin(api.url, dbUrl));
    expect(await objectInStore(pending.key)).toBeNull();
    expect(await sql("SELECT key FROM blob_deletions WHERE key LIKE $1", [`${user.id}/%`])).toEqual([]);
  });

  it("a ready blob whose object is gone from the bucket is 404, and logged as an inconsistency", async () => {
    const b = await signedIn(api.url);
    const lost = await (await uploadRaw(b, bytes(100), "image/png")).json();
    const { client, url } = s3Client();
    expect((await client.fetch(url(lost.key), { method: "DELETE" })).status).toBe(204);
    expect((await b.fetch(`/api/blobs/${lost.id}`)).status).toBe(404);
    const warned = () => api.logs().split("\n").filter((l) => l.includes("blob row without its object"));
    for (let i = 0; i < 50 && !warned().some((l) => l.includes(lost.key)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(warned().filter((l) => l.includes(lost.key))).toHaveLength(1);
  });

  it("sweeps at the same time share the queue: each object is deleted and reported once", async () => {
    // Due entries for objects that do not exist (deleting them succeeds), as a deleted user leaves.
    const prefix = `parallel-sweep/${Date.now()}`;
    await sql("INSERT INTO blob_deletions (key) SELECT $1 || '/' || i || '.txt' FROM generate_series(1, 60) i", [prefix]);
    const a = await admin(api.url, dbUrl);
    const results = await Promise.all([1, 2, 3].map(() => sweep(a)));
    expect(results.reduce((n, r) => n + r.deleted_objects, 0)).toBe(60);
    expect(results.every((r) => r.failed_objects === 0)).toBe(true);
    expect(await sql("SELECT key FROM blob_deletions WHERE key LIKE $1", [`${prefix}/%`])).toEqual([]);
  });

  it("is for admins only, and is audited", async () => {
    const b = await signedIn(api.url);
    expect((await b.post("/admin/storage/sweep")).status).toBe(403);
    const a = await admin(api.url, dbUrl);
    await sweep(a);
    const rows = await sql("SELECT action, resource_type FROM audit_log WHERE user_id = $1 AND event_type = 'admin_action'", [(await me(a)).id]);
    expect(rows).toEqual([{ action: "Admin ran the storage sweep", resource_type: "storage" }]);
  });

  it("also runs by itself: a fresh process sweeps after its first blob request", async () => {
    // Made through the process above, which does not sweep again for 10 minutes: only the fresh
    // process below can remove it.
    const b = await signedIn(api.url);
    const stale = await presignedUpload(b, "abandoned");
    await sql("UPDATE blobs SET created_at = now() - interval '2 days' WHERE id = $1", [stale.id]);
    const fresh = await startApi({ ...apiEnv(), DATABASE_URL: dbUrl }, "/health/ready");
    processes.push(fresh);
    // Still there until the fresh process serves a blob request (starting it swept nothing).
    expect(await sql("SELECT id FROM blobs WHERE id = $1", [stale.id])).toEqual([{ id: stale.id }]);
    const c = await signedIn(fresh.url);
    expect((await c.fetch("/api/blobs/usage")).status).toBe(200);
    // The sweep runs after that response (it must not delay the request): wait for it.
    const swept = async () => (await sql("SELECT id FROM blobs WHERE id = $1", [stale.id])).length === 0 && (await objectInStore(stale.key)) === null;
    for (let i = 0; i < 50 && !(await swept()); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await sql("SELECT id FROM blobs WHERE id = $1", [stale.id])).toEqual([]);
    expect(await objectInStore(stale.key)).toBeNull();
  });
});

describe("storage configuration", () => {
  const withoutStorage = () => Object.fromEntries(Object.entries(apiEnv()).filter(([k]) => !k.startsWith("STORAGE_")));

  it("not configured: readiness reports storage disabled (still ready); blob routes answer 503 storage_unavailable", async () => {
    const api = await startApi(withoutStorage(), "/health/ready");
    processes.push(api);
    const ready = await fetch(api.url + "/health/ready");
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks.storage).toEqual({ status: "disabled", message: expect.stringContaining("STORAGE_") });
    expect((await fetch(api.url + "/api/blobs")).status).toBe(401); // the session check still comes first
    const b = await signedIn(api.url);
    for (const res of [
      await b.fetch("/api/blobs"),
      await b.fetch("/blobs/usage"),
      await uploadRaw(b, "hello", "text/plain"),
      await b.post("/api/blobs/upload-url", { filename: "a.txt", mime_type: "text/plain" }),
    ]) {
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: "storage_unavailable" });
    }
  });

  it("configured but unreachable: readiness fails; failed object deletions are retried later", async () => {
    // Its own database, so the failing sweep cannot touch other tests' queue.
    const dbUrl = await createScratchDatabase(adminDatabaseUrl(), "ignition_blobs");
    scratch.push(dbUrl);
    await new Migrator({ databaseUrl: dbUrl, dir: join(ROOT, "migrations"), log: () => {} }).up();
    const api = await startApi({ ...apiEnv(), DATABASE_URL: dbUrl, STORAGE_ENDPOINT: "http://127.0.0.1:9" });
    processes.push(api);
    const ready = await fetch(api.url + "/health/ready");
    expect(ready.status).toBe(503);
    const body = await ready.json();
    expect(body.checks.storage.status).toBe("fail");
    expect(body.checks.database.status).toBe("ok");

    const a = await admin(api.url, dbUrl);
    await withClient(dbUrl, (c) => c.query("INSERT INTO blob_deletions (key) VALUES ('gone/other/x.txt')"));
    const res = await a.post("/admin/storage/sweep");
    expect(await res.json()).toEqual({ expired_uploads: 0, deleted_objects: 0, failed_objects: 1 });
    const [row] = await withClient(dbUrl, async (c) => (await c.query("SELECT attempts, last_error, not_before > now() AS later FROM blob_deletions")).rows);
    expect(row).toMatchObject({ attempts: 1, later: true });
    expect(row.last_error).toBeTruthy();
    const upload = await uploadRaw(a, "hello", "text/plain");
    expect(upload.status).toBe(503);
    expect((await upload.json()).error).toBe("storage_unavailable");
    // The refused upload left no row behind.
    expect((await withClient(dbUrl, (c) => c.query("SELECT count(*)::int AS n FROM blobs"))).rows[0].n).toBe(0);
  });
});
