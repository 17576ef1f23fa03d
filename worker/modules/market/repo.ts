// SQL of the market: items (global), purchases and the wallet (per user).
import { utc } from "../../db/json";
import type { Sql } from "../../db/sql";
import type { CreateItem, ItemRow, Purchase, Wallet } from "./schema";

const ITEM = (i: string) => `json_build_object('id', ${i}.id, 'key', ${i}.key, 'name', ${i}.name,
  'description', ${i}.description, 'category', ${i}.category, 'cost_coins', ${i}.cost_coins, 'icon', ${i}.icon,
  'image_url', ${i}.image_url, 'is_consumable', ${i}.is_consumable, 'uses_per_purchase', ${i}.uses_per_purchase,
  'remaining_stock', ${i}.remaining_stock, 'is_available', ${i}.is_available, 'is_active', ${i}.is_active)`;

const PURCHASE = (p: string, i: string) => `json_build_object('id', ${p}.id, 'item_key', ${i}.key, 'item_name', ${i}.name,
  'cost_coins', ${p}.cost_coins, 'quantity', ${p}.quantity, 'purchased_at', ${utc(`${p}.purchased_at`)},
  'status', ${p}.status, 'uses_remaining', ${p}.uses_remaining)`;

/** What the shop shows: active, available, global items (sort_order, name), optionally of one category. */
export async function listItems(sql: Sql, category: string | null): Promise<ItemRow[]> {
  const rows = await sql.query<{ i: ItemRow }>(
    `SELECT ${ITEM("i")} AS i FROM market_items i
     WHERE i.is_active AND i.is_available AND i.is_global AND ($1::text IS NULL OR i.category = $1)
     ORDER BY i.sort_order, i.name, i.key`,
    [category],
  );
  return rows.map((r) => r.i);
}

export async function insertItem(sql: Sql, userId: string, input: CreateItem): Promise<ItemRow> {
  const rows = await sql.query<{ i: ItemRow }>(
    `INSERT INTO market_items AS i (key, name, category, cost_coins, description, icon, image_url, is_consumable,
       uses_per_purchase, total_stock, remaining_stock, created_by_user_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
     RETURNING ${ITEM("i")} AS i`,
    [input.key, input.name, input.category, input.cost_coins, input.description ?? null, input.icon ?? null,
      input.image_url ?? null, input.is_consumable, input.uses_per_purchase ?? null, input.total_stock ?? null, userId],
  );
  return rows[0]!.i;
}

/** Any item by key, inactive ones included. */
export async function findItem(sql: Sql, key: string): Promise<ItemRow | null> {
  const rows = await sql.query<{ i: ItemRow }>(`SELECT ${ITEM("i")} AS i FROM market_items i WHERE i.key = $1`, [key]);
  return rows[0]?.i ?? null;
}

/** Takes `quantity` from a limited stock if that much is left; returns what remains, or null. */
export async function takeStock(sql: Sql, itemId: string, quantity: number): Promise<number | null> {
  const rows = await sql.query<{ remaining_stock: number }>(
    `UPDATE market_items SET remaining_stock = remaining_stock - $2
     WHERE id = $1 AND remaining_stock >= $2 RETURNING remaining_stock`,
    [itemId, quantity],
  );
  return rows[0]?.remaining_stock ?? null;
}

export async function insertPurchase(
  sql: Sql,
  p: { id: string; userId: string; item: ItemRow; cost: number; quantity: number; usesRemaining: number | null },
): Promise<Purchase> {
  const rows = await sql.query<{ p: Purchase }>(
    `WITH p AS (
       INSERT INTO user_purchases (id, user_id, item_id, cost_coins, quantity, uses_remaining)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *
     )
     SELECT ${PURCHASE("p", "i")} AS p FROM p JOIN market_items i ON i.id = p.item_id`,
    [p.id, p.userId, p.item.id, p.cost, p.quantity, p.usesRemaining],
  );
  return rows[0]!.p;
}

export async function listPurchases(sql: Sql, userId: string, limit: number): Promise<Purchase[]> {
  const rows = await sql.query<{ p: Purchase }>(
    `SELECT ${PURCHASE("p", "i")} AS p FROM user_purchases p JOIN market_items i ON i.id = p.item_id
     WHERE p.user_id = $1 ORDER BY p.purchased_at DESC, p.id LIMIT $2`,
    [userId, limit],
  );
  return rows.map((r) => r.p);
}

export interface LockedPurchase {
  status: string;
  uses_remaining: number | null;
  is_consumable: boolean;
  item_name: string;
}

/** Locks one of the user's purchases (redeems of it run one at a time). */
export async function lockPurchase(sql: Sql, userId: string, id: string): Promise<LockedPurchase | null> {
  const rows = await sql.query<LockedPurchase>(
    `SELECT p.status, p.uses_remaining, i.is_consumable, i.name AS item_name
     FROM user_purchases p JOIN market_items i ON i.id = p.item_id
     WHERE p.id = $2 AND p.user_id = $1 FOR UPDATE OF p`,
    [userId, id],
  );
  return rows[0] ?? null;
}

export async function storeRedeem(sql: Sql, id: string, usesRemaining: number | null, fully: boolean): Promise<Purchase> {
  const rows = await sql.query<{ p: Purchase }>(
    `WITH p AS (
       UPDATE user_purchases SET uses_remaining = $2,
         status = CASE WHEN $3 THEN 'redeemed' ELSE status END,
         redeemed_at = CASE WHEN $3 THEN now() ELSE redeemed_at END
       WHERE id = $1 RETURNING *
     )
     SELECT ${PURCHASE("p", "i")} AS p FROM p JOIN market_items i ON i.id = p.item_id`,
    [id, usesRemaining, fully],
  );
  return rows[0]!.p;
}

/** The wallet with the spec's names (lifetime_* ← total_*); zeros when there is no row yet. */
export async function readWallet(sql: Sql, userId: string): Promise<Wallet> {
  const rows = await sql.query<{ coins: string; lifetime_earned: string; lifetime_spent: string }>(
    `SELECT COALESCE(max(coins), 0) AS coins, COALESCE(max(total_earned), 0) AS lifetime_earned,
            COALESCE(max(total_spent), 0) AS lifetime_spent
     FROM user_wallet WHERE user_id = $1`,
    [userId],
  );
  const w = rows[0]!;
  return { coins: Number(w.coins), lifetime_earned: Number(w.lifetime_earned), lifetime_spent: Number(w.lifetime_spent) };
}
