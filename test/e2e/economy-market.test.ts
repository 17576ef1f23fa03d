// The market through HTTP (spec §3.8): items (admin-only create), purchase rules, redeem, history,
// wallet, and the ledger/audit rows a purchase writes in its transaction.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { completeQuest, expectLedgerInvariant, grantAdmin, newUser, sql, wallet, type User } from "../support/economy";

const tag = randomBytes(3).toString("hex");
const key = (name: string) => `t${tag}-${name}`;
const CATEGORY = `cat-${tag}`;

let admin: User;
async function item(name: string, fields: Record<string, unknown> = {}) {
  return admin.ok("POST", "/api/market/items", { key: key(name), name: `Item ${name}`, category: CATEGORY, cost_coins: 10, ...fields });
}

beforeAll(async () => {
  admin = await newUser();
  grantAdmin(admin);
});

describe("market items", () => {
  it("only admins create items (403 otherwise), with the Item shape", async () => {
    const u = await newUser();
    const denied = await u.send("/api/market/items", { key: key("denied"), name: "x", category: CATEGORY, cost_coins: 1 });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe("forbidden");
    const created = await item("shape", { description: "d", icon: "gift", image_url: "https://cdn.example.com/a.png", uses_per_purchase: 3, total_stock: 5 });
    expect(created).toEqual({
      id: expect.any(String), key: key("shape"), name: "Item shape", description: "d", category: CATEGORY, cost_coins: 10,
      icon: "gift", image_url: "https://cdn.example.com/a.png", is_consumable: true, uses_per_purchase: 3, remaining_stock: 5, is_available: true,
    });
    const [row] = await sql("SELECT created_by_user_id, total_stock FROM market_items WHERE key = $1", [key("shape")]);
    expect(row).toEqual({ created_by_user_id: admin.id, total_stock: 5 });
  });

  it("validates items (422 per field) and refuses a duplicate key with 409", async () => {
    const bad = await admin.send("/api/market/items", { key: "Bad Key", name: "", category: CATEGORY, cost_coins: -1, image_url: "ftp://x/y", uses_per_purchase: 0, total_stock: -2 });
    expect(bad.status).toBe(422);
    expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(["cost_coins", "image_url", "key", "name", "total_stock", "uses_per_purchase"]);
    const half = await admin.send("/api/market/items", { key: key("half"), name: "x", category: CATEGORY, cost_coins: 1, image_url: "https://cdn.example.com/\ud800x" });
    expect(half.status).toBe(422);
    expect(half.body.details.map((d: { field: string }) => d.field)).toEqual(["image_url"]);
    await item("dup");
    const dup = await admin.send("/api/market/items", { key: key("dup"), name: "again", category: CATEGORY, cost_coins: 1 });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ error: "conflict", message: `An item with key '${key("dup")}' already exists` });
  });

  it("lists active, available items of a category by sort order and name; GET by key sees inactive ones", async () => {
    const category = `${CATEGORY}-list`;
    await item("list-b", { name: "Beta", category });
    await item("list-a", { name: "Alpha", category });
    await item("list-off", { name: "Off", category });
    await sql("UPDATE market_items SET is_active = false WHERE key = $1", [key("list-off")]);
    const u = await newUser();
    const list = await u.ok("GET", `/api/market/items?category=${category}`);
    expect(list.total).toBe(2);
    expect(list.items.map((i: { name: string }) => i.name)).toEqual(["Alpha", "Beta"]);
    expect(await u.ok("GET", `/api/market/items/${key("list-off")}`)).toMatchObject({ key: key("list-off"), is_available: false });
    expect((await u.get("/api/market/items/no-such-item")).body).toMatchObject({ error: "not_found", message: "Item not found" });
    expect((await u.get("/api/market/items?category=a%00b")).status).toBe(422);
    // An empty filter is no filter (forms and many clients send one).
    expect((await u.ok("GET", "/api/market/items?category=")).total).toBeGreaterThanOrEqual(2);

    const overview = await u.ok("GET", "/api/market");
    expect(overview.wallet).toEqual({ coins: 0, lifetime_earned: 0, lifetime_spent: 0 });
    expect(overview.featured_items.length).toBeLessThanOrEqual(6);
    expect(overview.categories).toEqual([...new Set(overview.categories)].sort());
    expect(overview.categories).toContain(category);
  });
});

describe("purchase", () => {
  it("checks quantity, item, availability, stock and balance, in that order, changing nothing on refusal", async () => {
    await item("rules", { cost_coins: 30, total_stock: 2 });
    await item("rules-off");
    await sql("UPDATE market_items SET is_available = false WHERE key = $1", [key("rules-off")]);
    const u = await newUser();
    const q0 = await u.send("/api/market/purchase", { item_key: key("rules"), quantity: 0 });
    expect(q0.status).toBe(422);
    expect(q0.body.details).toEqual([{ field: "quantity", message: "Quantity must be at least 1" }]);
    expect((await u.send("/api/market/purchase", { item_key: "missing-item" })).body).toMatchObject({ error: "not_found", message: "Item not found" });
    expect((await u.send("/api/market/purchase", { item_key: key("rules-off") })).body).toMatchObject({ error: "bad_request", message: "Item not available" });
    expect((await u.send("/api/market/purchase", { item_key: key("rules"), quantity: 3 })).body.message).toBe("Insufficient stock");
    const poor = await u.send("/api/market/purchase", { item_key: key("rules"), quantity: 2 });
    expect(poor.status).toBe(400);
    expect(poor.body.message).toBe("Insufficient coins. Need 60 but have 0");
    expect((await u.ok("GET", `/api/market/items/${key("rules")}`)).remaining_stock).toBe(2);
    expect(await u.ok("GET", "/api/market/history")).toEqual({ purchases: [], total: 0 });
  });

  it("debits coins, takes stock, writes the purchase, the ledger row and the audit row together", async () => {
    await item("buy", { cost_coins: 20, uses_per_purchase: 3, total_stock: 10 });
    const u = await newUser();
    await completeQuest(u, { coins: 95 }); // + 5 from "Quest Starter" = 100
    const res = await u.send("/api/market/purchase", { item_key: key("buy"), quantity: 2 });
    expect(res.status).toBe(200);
    const { purchase, new_balance, item: after } = res.body.data;
    expect(new_balance).toBe(60);
    expect(purchase).toMatchObject({ item_key: key("buy"), item_name: "Item buy", cost_coins: 40, quantity: 2, status: "purchased", uses_remaining: 6 });
    expect(purchase.purchased_at).toMatch(/Z$/);
    expect(after).toMatchObject({ key: key("buy"), remaining_stock: 8 });
    expect(await wallet(u)).toEqual({ coins: 60, lifetime_earned: 100, lifetime_spent: 40 });

    const ledger = await sql("SELECT event_type, event_id, coins, xp, idempotency_key FROM points_ledger WHERE user_id = $1 AND coins < 0", [u.id]);
    expect(ledger).toEqual([{ event_type: "spend", event_id: purchase.id, coins: -40, xp: 0, idempotency_key: `purchase_${purchase.id}` }]);
    const audit = await sql("SELECT event_type, user_id, resource_type, resource_id, action, status, request_id FROM audit_log WHERE request_id = $1", [res.headers.get("X-Request-Id")]);
    expect(audit).toEqual([{
      event_type: "purchase", user_id: u.id, resource_type: "market_item", resource_id: after.id,
      action: "Purchased Item buy x2 for 40 coins", status: "success", request_id: res.headers.get("X-Request-Id"),
    }]);
    expect(await u.ok("GET", "/api/market/history")).toEqual({ purchases: [purchase], total: 1 });
    await expectLedgerInvariant(u);
  });

  it("refuses a total no ledger row can record (a price set in the database) with 400, not 500", async () => {
    await item("dear", { cost_coins: 1 });
    await sql("UPDATE market_items SET cost_coins = 2000000000 WHERE key = $1", [key("dear")]);
    const u = await newUser();
    const r = await u.send("/api/market/purchase", { item_key: key("dear"), quantity: 2 });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe("A purchase may cost at most 2147483647 coins; this one costs 4000000000");
    expect((await u.send("/api/market/purchase", { item_key: key("dear") })).body.message).toBe("Insufficient coins. Need 2000000000 but have 0");
  });

  it("a free item can be taken before any coin was earned", async () => {
    await item("free", { cost_coins: 0 });
    const u = await newUser();
    expect((await u.ok("POST", "/api/market/purchase", { item_key: key("free") })).new_balance).toBe(0);
    await expectLedgerInvariant(u);
  });
});

describe("redeem", () => {
  let u: User;
  beforeAll(async () => {
    await item("two-uses", { cost_coins: 1, uses_per_purchase: 2 });
    await item("unlimited", { cost_coins: 1 });
    await item("durable", { cost_coins: 1, is_consumable: false });
    u = await newUser();
    await completeQuest(u, { coins: 10 });
  });

  it("takes one use at a time, then refuses once fully redeemed", async () => {
    const { purchase } = await u.ok("POST", "/api/market/purchase", { item_key: key("two-uses") });
    const first = await u.ok("POST", "/api/market/redeem", { purchase_id: purchase.id });
    expect(first.message).toBe("Used 1 of Item two-uses: 1 remaining");
    expect(first.purchase).toMatchObject({ id: purchase.id, status: "purchased", uses_remaining: 1 });
    const second = await u.ok("POST", "/api/market/redeem", { purchase_id: purchase.id });
    expect(second).toMatchObject({ message: "Fully redeemed: Item two-uses", purchase: { status: "redeemed", uses_remaining: 0 } });
    const third = await u.send("/api/market/redeem", { purchase_id: purchase.id });
    expect(third.status).toBe(400);
    expect(third.body.message).toBe("Cannot redeem: status is redeemed");
  });

  it("honours an Idempotency-Key: the same redeem sent again replays its answer and takes one use", async () => {
    const { purchase } = await u.ok("POST", "/api/market/purchase", { item_key: key("two-uses") });
    const headers = { "Idempotency-Key": `redeem-${purchase.id}` };
    const first = await u.send("/api/market/redeem", { purchase_id: purchase.id }, headers);
    const again = await u.send("/api/market/redeem", { purchase_id: purchase.id.toUpperCase() }, headers);
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect((await u.ok("GET", "/api/market/history")).purchases.find((p: { id: string }) => p.id === purchase.id).uses_remaining).toBe(1);
  });

  it("redeems an item without a use count at once; refuses a durable item", async () => {
    const a = await u.ok("POST", "/api/market/purchase", { item_key: key("unlimited") });
    expect(a.purchase.uses_remaining).toBeNull();
    expect((await u.ok("POST", "/api/market/redeem", { purchase_id: a.purchase.id })).message).toBe("Fully redeemed: Item unlimited");
    const d = await u.ok("POST", "/api/market/purchase", { item_key: key("durable") });
    expect((await u.send("/api/market/redeem", { purchase_id: d.purchase.id })).body).toMatchObject({ error: "bad_request", message: "Item is not consumable" });
  });

  it("404 for another user's or an unknown purchase, 422 for a malformed id", async () => {
    const { purchase } = await u.ok("POST", "/api/market/purchase", { item_key: key("two-uses") });
    const other = await newUser();
    expect((await other.send("/api/market/redeem", { purchase_id: purchase.id })).body).toMatchObject({ error: "not_found", message: "Purchase not found" });
    expect((await other.send("/api/market/redeem", { purchase_id: "00000000-0000-4000-8000-000000000000" })).status).toBe(404);
    // Any well-formed id PostgreSQL accepts, whatever its version digits.
    expect((await other.send("/api/market/redeem", { purchase_id: "11111111-1111-1111-1111-111111111111" })).status).toBe(404);
    expect((await other.send("/api/market/redeem", { purchase_id: "12" })).status).toBe(422);
    expect((await u.ok("GET", "/api/market/history")).purchases.find((p: { id: string }) => p.id === purchase.id).uses_remaining).toBe(2);
  });

  it("history is newest first, limited (max 100), and validated", async () => {
    const h = await u.ok("GET", "/api/market/history?limit=2");
    expect(h.total).toBe(2);
    expect(Date.parse(h.purchases[0].purchased_at)).toBeGreaterThanOrEqual(Date.parse(h.purchases[1].purchased_at));
    expect((await u.ok("GET", "/api/market/history?limit=500")).total).toBeGreaterThan(2);
    expect((await u.get("/api/market/history?limit=0")).status).toBe(422);
    expect((await u.get("/api/market/history?limit=ten")).status).toBe(422);
  });
});
