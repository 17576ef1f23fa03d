// Idempotency-Key on purchases, and purchases under concurrency (issue 6): the same key never
// debits twice; parallel purchases never overdraw the wallet.
import { randomBytes, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { completeQuest, expectLedgerInvariant, grantAdmin, newUser, sql, wallet, type User } from "../support/economy";
import { connectClient } from "../support/database";
import { databaseUrl } from "../support/env";
import { waitUntilBlockedBy } from "../support/locks";

const tag = randomBytes(3).toString("hex");
const ITEM = `t${tag}-idem`;
const LIMITED = `t${tag}-limited`;
const SCARCE = `t${tag}-scarce`;
const USES = `t${tag}-uses`;

beforeAll(async () => {
  const admin = await newUser();
  grantAdmin(admin);
  await admin.ok("POST", "/api/market/items", { key: ITEM, name: "Idem", category: `cat-${tag}`, cost_coins: 10 });
  await admin.ok("POST", "/api/market/items", { key: LIMITED, name: "Limited", category: `cat-${tag}`, cost_coins: 1, total_stock: 7 });
  await admin.ok("POST", "/api/market/items", { key: SCARCE, name: "Scarce", category: `cat-${tag}`, cost_coins: 10, total_stock: 3 });
  await admin.ok("POST", "/api/market/items", { key: USES, name: "Uses", category: `cat-${tag}`, cost_coins: 1, uses_per_purchase: 3 });
});

/** A user whose wallet holds exactly `coins` (the first quest's achievement adds 5). */
async function userWith(coins: number): Promise<User> {
  const u = await newUser();
  await completeQuest(u, { coins: coins - 5 });
  expect((await wallet(u)).coins).toBe(coins);
  return u;
}

const spends = async (u: User) =>
  (await sql<{ n: number }>("SELECT count(*)::int AS n FROM points_ledger WHERE user_id = $1 AND event_type = 'spend'", [u.id]))[0]!.n;

describe("Idempotency-Key", () => {
  it("replays the first response for the same key and body, debiting once", async () => {
    const u = await userWith(50);
    const headers = { "Idempotency-Key": randomUUID() };
    const first = await u.send("/api/market/purchase", { item_key: ITEM, quantity: 2 }, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    // Same body with another key order and the default spelled out: the same request.
    const again = await u.send("/api/market/purchase", { quantity: 2, item_key: ITEM }, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    // Byte for byte, key order included.
    expect(JSON.stringify(again.body)).toBe(JSON.stringify(first.body));
    expect((await wallet(u)).coins).toBe(30);
    expect(await spends(u)).toBe(1);

    const otherKey = await u.send("/api/market/purchase", { item_key: ITEM, quantity: 2 }, { "Idempotency-Key": randomUUID() });
    expect(otherKey.body.data.purchase.id).not.toBe(first.body.data.purchase.id);
    expect((await wallet(u)).coins).toBe(10);
    await expectLedgerInvariant(u);
  });

  it("answers 422 when the key is reused with a different body, and for a malformed key", async () => {
    const u = await userWith(50);
    const headers = { "Idempotency-Key": `key-${tag}` };
    expect((await u.send("/api/market/purchase", { item_key: ITEM }, headers)).status).toBe(200);
    const changed = await u.send("/api/market/purchase", { item_key: ITEM, quantity: 3 }, headers);
    expect(changed.status).toBe(422);
    expect(changed.body.error).toBe("validation_error");
    expect(changed.body.details[0].field).toBe("Idempotency-Key");
    const malformed = await u.send("/api/market/purchase", { item_key: ITEM }, { "Idempotency-Key": "has space" });
    expect(malformed.status).toBe(422);
    // A bad key and a bad body: one answer names both.
    const both = await u.send("/api/market/purchase", { item_key: ITEM, quantity: 0 }, { "Idempotency-Key": "has space" });
    expect(both.status).toBe(422);
    expect(both.body.details.map((d: { field: string }) => d.field).sort()).toEqual(["Idempotency-Key", "quantity"]);
    expect((await wallet(u)).coins).toBe(40);
  });

  it("remembers a key for 24 hours: after that the same key starts a new purchase", async () => {
    const u = await userWith(50);
    const headers = { "Idempotency-Key": `day-${tag}` };
    const first = await u.send("/api/market/purchase", { item_key: ITEM }, headers);
    expect(first.status).toBe(200);
    await sql("UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 minute' WHERE user_id = $1", [u.id]);
    // Another body with the old key is a new request now, not a 422; so is the same body.
    const changed = await u.send("/api/market/purchase", { item_key: ITEM, quantity: 2 }, headers);
    expect(changed.status).toBe(200);
    expect(changed.headers.get("Idempotent-Replayed")).toBeNull();
    expect(changed.body.data.purchase.id).not.toBe(first.body.data.purchase.id);
    // ...and is remembered from now on.
    const again = await u.send("/api/market/purchase", { item_key: ITEM, quantity: 2 }, headers);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.data.purchase.id).toBe(changed.body.data.purchase.id);
    expect((await wallet(u)).coins).toBe(20);
    await expectLedgerInvariant(u);
  });

  it("keys belong to their user: two users may use the same key", async () => {
    const [a, b] = [await userWith(20), await userWith(20)];
    const headers = { "Idempotency-Key": `shared-${tag}` };
    const ra = await a.send("/api/market/purchase", { item_key: ITEM }, headers);
    const rb = await b.send("/api/market/purchase", { item_key: ITEM }, headers);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(rb.headers.get("Idempotent-Replayed")).toBeNull();
    expect([(await wallet(a)).coins, (await wallet(b)).coins]).toEqual([10, 10]);
  });

  it("answers 409 while the first request with the key is still running, then replays it", async () => {
    const u = await userWith(30);
    const key = randomUUID();
    const headers = { "Idempotency-Key": key };
    // Hold the wallet row so the first purchase waits inside its transaction.
    const blocker = await connectClient(databaseUrl());
    try {
      const blockerPid = (await blocker.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      await blocker.query("BEGIN");
      await blocker.query("SELECT coins FROM user_wallet WHERE user_id = $1 FOR UPDATE", [u.id]);
      const first = u.send("/api/market/purchase", { item_key: ITEM }, headers);
      first.catch(() => {}); // awaited below; a failure before then must not also surface as unhandled
      // Only this user's purchase can wait on this wallet row: once it does, it holds the key's lock
      // (taken with its transaction's first statement) and cannot finish before COMMIT.
      // Fails clearly (within 10 s) if the first request never gets there.
      await waitUntilBlockedBy(blockerPid, { timeoutMs: 10_000 });
      // Nothing is stored before the purchase commits: its answer is written with its change.
      expect(await sql("SELECT state FROM idempotency_keys WHERE user_id = $1 AND key = $2", [u.id, key])).toEqual([]);
      const during = await u.send("/api/market/purchase", { item_key: ITEM }, headers);
      expect(during.status).toBe(409);
      expect(during.body.error).toBe("conflict");
      expect(during.headers.get("Retry-After")).toBe("1");
      await blocker.query("COMMIT");
      const done = await first;
      expect(done.status).toBe(200);
      const after = await u.send("/api/market/purchase", { item_key: ITEM }, headers);
      expect(after.status).toBe(200);
      expect(after.body).toEqual(done.body);
    } finally {
      await blocker.end();
    }
    expect((await wallet(u)).coins).toBe(20);
    expect(await spends(u)).toBe(1);
  });

  it("an in-progress claim an earlier version left behind keeps its request but does not hold the key", async () => {
    // Earlier versions claimed a key before their transaction; one whose request died left an
    // in-progress row with no transaction running for it. Its request is this body's (the hash
    // as a purchase of the same body stores it, under another key of another user).
    const other = await userWith(10);
    const otherKey = randomUUID();
    expect((await other.send("/api/market/purchase", { item_key: ITEM }, { "Idempotency-Key": otherKey })).status).toBe(200);
    const [{ request_hash: hash }] = await sql<{ request_hash: string }>(
      "SELECT request_hash FROM idempotency_keys WHERE user_id = $1 AND key = $2", [other.id, otherKey]);
    const u = await userWith(100);
    const key = randomUUID();
    await sql("INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)", [u.id, key, hash]);
    const stored = () => sql("SELECT state, request_hash FROM idempotency_keys WHERE user_id = $1 AND key = $2", [u.id, key]);
    // A different body under that key is refused, and changes nothing.
    expect((await u.send("/api/market/purchase", { item_key: ITEM, quantity: 2 }, { "Idempotency-Key": key })).status).toBe(422);
    expect(await stored()).toEqual([{ state: "in_progress", request_hash: hash }]);
    expect(await spends(u)).toBe(0);
    // The same body runs at once: nothing is running for the claim.
    const retry = await u.send("/api/market/purchase", { item_key: ITEM }, { "Idempotency-Key": key });
    expect(retry.status).toBe(200);
    expect(await stored()).toEqual([{ state: "completed", request_hash: hash }]);
    expect(await spends(u)).toBe(1);
  });

  it("replays a refusal too: a key that met 'Insufficient coins' keeps answering it", async () => {
    const u = await userWith(5);
    const headers = { "Idempotency-Key": randomUUID() };
    const refused = await u.send("/api/market/purchase", { item_key: ITEM }, headers);
    expect(refused.status).toBe(400);
    await completeQuest(u, { coins: 100 });
    const replay = await u.send("/api/market/purchase", { item_key: ITEM }, headers);
    expect(replay.status).toBe(400);
    expect(replay.body.message).toBe("Insufficient coins. Need 10 but have 5");
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await spends(u)).toBe(0);
  });

  it("once the first request has answered, every retry gets that answer, however many arrive at once", async () => {
    const u = await userWith(30);
    const headers = { "Idempotency-Key": randomUUID() };
    const first = await u.send("/api/market/purchase", { item_key: ITEM }, headers);
    expect(first.status).toBe(200);
    // Replays overlap one another: none of them is "still in progress".
    const retries = await Promise.all(Array.from({ length: 12 }, () => u.send("/api/market/purchase", { item_key: ITEM }, headers)));
    expect(retries.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(retries.every((r) => r.headers.get("Idempotent-Replayed") === "true" && JSON.stringify(r.body) === JSON.stringify(first.body))).toBe(true);
    // A different body under the finished key is 422 at once, also while replays run.
    const mixed = await Promise.all([
      ...Array.from({ length: 6 }, () => u.send("/api/market/purchase", { item_key: ITEM }, headers)),
      u.send("/api/market/purchase", { item_key: ITEM, quantity: 2 }, headers),
    ]);
    expect(mixed.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 422]);
    expect(await spends(u)).toBe(1);
  });

  it("a redeem's retry while the first waits on the purchase's row answers 409 at once, without waiting for that row", async () => {
    const u = await userWith(10);
    const { purchase } = await u.ok("POST", "/api/market/purchase", { item_key: USES });
    const headers = { "Idempotency-Key": randomUUID() };
    const blocker = await connectClient(databaseUrl());
    try {
      const blockerPid = (await blocker.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      await blocker.query("BEGIN");
      await blocker.query("SELECT 1 FROM user_purchases WHERE id = $1 FOR UPDATE", [purchase.id]);
      let firstSettled = false;
      const first = u.send("/api/market/redeem", { purchase_id: purchase.id }, headers);
      first.then(() => (firstSettled = true), () => (firstSettled = true));
      await waitUntilBlockedBy(blockerPid, { timeoutMs: 10_000 });
      // The retry must not also queue for the row the first one waits on: it answers while the
      // blocker still holds it (had it waited, both would have run into the statement timeout).
      const during = await u.send("/api/market/redeem", { purchase_id: purchase.id }, headers);
      expect(during.status).toBe(409);
      expect(firstSettled).toBe(false);
      expect(await waitUntilBlockedBy(blockerPid, { timeoutMs: 1000 })).toHaveLength(1);
      await blocker.query("COMMIT");
      const done = await first;
      expect(done.status).toBe(200);
      expect(done.body.data.purchase.uses_remaining).toBe(2);
    } finally {
      await blocker.end();
    }
  });

  it("a refusal stored with its key leaves nothing of the attempt behind (the stock it took is back)", async () => {
    const u = await userWith(5);
    const headers = { "Idempotency-Key": randomUUID() };
    // The stock is taken before the debit, which the balance then refuses.
    const refused = await u.send("/api/market/purchase", { item_key: SCARCE }, headers);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe("Insufficient coins. Need 10 but have 5");
    const left = await sql("SELECT remaining_stock FROM market_items WHERE key = $1", [SCARCE]);
    expect(left).toEqual([{ remaining_stock: 3 }]);
    expect(await sql("SELECT count(*)::int AS n FROM user_purchases WHERE user_id = $1", [u.id])).toEqual([{ n: 0 }]);
    expect(await sql("SELECT count(*)::int AS n FROM audit_log WHERE user_id = $1 AND event_type = 'purchase'", [u.id])).toEqual([{ n: 0 }]);
    expect(await sql("SELECT state, response_status FROM idempotency_keys WHERE user_id = $1", [u.id])).toEqual([{ state: "completed", response_status: 400 }]);
    const replayed = await u.send("/api/market/purchase", { item_key: SCARCE }, headers);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.status).toBe(400);
    expect(replayed.body.message).toBe(refused.body.message);
    await expectLedgerInvariant(u);
  });
});

describe("concurrency", () => {
  it("50 parallel purchases with distinct keys against a balance covering 10: exactly 10 succeed", async () => {
    const u = await userWith(105); // 10 × 10 coins, with 5 to spare
    const results = await Promise.all(
      Array.from({ length: 50 }, () => u.send("/api/market/purchase", { item_key: ITEM }, { "Idempotency-Key": randomUUID() })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 400)).toHaveLength(40);
    for (const r of results.filter((x) => x.status === 400)) expect(r.body.message).toMatch(/^Insufficient coins\. Need 10 but have [0-9]$/);
    expect((await wallet(u)).coins).toBe(5);
    expect(await spends(u)).toBe(10);
    const balances = results.filter((r) => r.status === 200).map((r) => r.body.data.new_balance).sort((a, b) => a - b);
    expect(balances).toEqual([5, 15, 25, 35, 45, 55, 65, 75, 85, 95]);
    // A refused purchase leaves no purchase row and no audit row behind (they went out with its debit).
    const [{ bought, audited }] = await sql<{ bought: number; audited: number }>(
      `SELECT (SELECT count(*)::int FROM user_purchases WHERE user_id = $1) AS bought,
              (SELECT count(*)::int FROM audit_log WHERE user_id = $1 AND event_type = 'purchase') AS audited`,
      [u.id],
    );
    expect({ bought, audited }).toEqual({ bought: 10, audited: 10 });
    await expectLedgerInvariant(u);
  });

  it("50 parallel purchases with one key: exactly one debit, every success is the same purchase", async () => {
    const u = await userWith(100);
    const headers = { "Idempotency-Key": randomUUID() };
    const results = await Promise.all(Array.from({ length: 50 }, () => u.send("/api/market/purchase", { item_key: ITEM }, headers)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(results.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(new Set(ok.map((r) => r.body.data.purchase.id)).size).toBe(1);
    expect(await spends(u)).toBe(1);
    expect((await wallet(u)).coins).toBe(90);
    await expectLedgerInvariant(u);
  });

  it("parallel purchases by many users never oversell a limited stock", async () => {
    const buyers = await Promise.all(Array.from({ length: 10 }, () => userWith(10)));
    const results = await Promise.all(buyers.map((b) => b.send("/api/market/purchase", { item_key: LIMITED })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(7);
    expect(results.filter((r) => r.status === 400).map((r) => r.body.message)).toEqual(["Insufficient stock", "Insufficient stock", "Insufficient stock"]);
    const [{ remaining_stock }] = await sql("SELECT remaining_stock FROM market_items WHERE key = $1", [LIMITED]);
    expect(remaining_stock).toBe(0);
  });
});
