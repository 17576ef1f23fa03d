// Property-based (fast-check) test of the ledger invariant through the real API and database:
// under random sequences of awards (quests, focus sessions) and purchases (with and without
// Idempotency-Keys, replays and reused keys), after every step the wallet equals the sum of the
// ledger and is never negative, and each purchase does exactly what the balance before it allows.
import { randomBytes, randomUUID } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { completeQuest, expectLedgerInvariant, grantAdmin, newUser, wallet, type User } from "../support/economy";

const tag = randomBytes(3).toString("hex");
const ITEMS = [
  { key: `t${tag}-p1`, cost: 1 },
  { key: `t${tag}-p7`, cost: 7 },
  { key: `t${tag}-p25`, cost: 25 },
  { key: `t${tag}-p60`, cost: 60 },
  { key: `t${tag}-stock`, cost: 2, stock: 4 },
];

type Op =
  | { kind: "quest"; xp: number; coins: number }
  | { kind: "focus"; duration: number }
  | { kind: "buy"; item: number; quantity: number; key: string | null };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("quest" as const), xp: fc.nat(400), coins: fc.nat(80) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("focus" as const), duration: fc.integer({ min: 60, max: 3600 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("buy" as const),
      item: fc.nat(ITEMS.length - 1),
      quantity: fc.integer({ min: 1, max: 3 }),
      // A few shared key names, so sequences replay and reuse keys.
      key: fc.option(fc.constantFrom("a", "b", "c"), { nil: null }),
    }),
  },
);

async function remainingStock(u: User, key: string): Promise<number | null> {
  return (await u.ok("GET", `/api/market/items/${key}`)).remaining_stock;
}

async function runSequence(ops: Op[]): Promise<void> {
  const u = await newUser();
  const run = randomUUID(); // keys are per user, but keep them unique per run anyway
  const usedKeys = new Map<string, { body: string; status: number; reply: unknown }>();
  for (const o of ops) {
    const before = await wallet(u);
    if (o.kind === "quest") {
      const done = await completeQuest(u, { xp: o.xp, coins: o.coins });
      expect(done.coins_awarded).toBe(o.coins);
      expect((await wallet(u)).coins).toBeGreaterThanOrEqual(before.coins + o.coins);
    } else if (o.kind === "focus") {
      const s = await u.ok("POST", "/api/focus", { duration_seconds: o.duration });
      const done = await u.ok("POST", `/api/focus/${s.id}/complete`);
      expect(done.coins_awarded).toBe(Math.max(2, Math.floor(o.duration / 300)));
    } else {
      const item = ITEMS[o.item]!;
      const body = { item_key: item.key, quantity: o.quantity };
      const headers: Record<string, string> = o.key ? { "Idempotency-Key": `${run}-${o.key}` } : {};
      const stock = item.stock === undefined ? null : await remainingStock(u, item.key);
      const r = await u.send("/api/market/purchase", body, headers);
      const after = await wallet(u);
      const earlier = o.key ? usedKeys.get(o.key) : undefined;
      if (earlier && earlier.body !== JSON.stringify(body)) {
        expect(r.status).toBe(422); // same key, different body
        expect(after.coins).toBe(before.coins);
      } else if (earlier) {
        expect(r.status).toBe(earlier.status); // same key, same body: the first answer again
        expect({ ...r.body, request_id: null }).toEqual(earlier.reply);
        expect(after.coins).toBe(before.coins);
      } else {
        const total = item.cost * o.quantity;
        const expected = stock !== null && stock < o.quantity ? "Insufficient stock" : before.coins < total ? "coins" : "ok";
        if (expected === "ok") {
          expect(r.status).toBe(200);
          expect(r.body.data.new_balance).toBe(before.coins - total);
          expect(after.coins).toBe(before.coins - total);
        } else {
          expect(r.status).toBe(400);
          expect(r.body.message).toBe(expected === "coins" ? `Insufficient coins. Need ${total} but have ${before.coins}` : expected);
          expect(after.coins).toBe(before.coins);
        }
        if (o.key) usedKeys.set(o.key, { body: JSON.stringify(body), status: r.status, reply: { ...r.body, request_id: null } });
      }
    }
    await expectLedgerInvariant(u);
  }
}

describe("ledger invariant (fast-check, real API and database)", () => {
  beforeAll(async () => {
    const admin = await newUser();
    grantAdmin(admin);
    for (const i of ITEMS) {
      await admin.ok("POST", "/api/market/items", { key: i.key, name: i.key, category: `cat-${tag}`, cost_coins: i.cost, total_stock: i.stock ?? null });
    }
  });

  it("wallet = sum of ledger ≥ 0 after every step of random awards and purchases", async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), runSequence), { numRuns: 30 });
  }, 180_000);
});
