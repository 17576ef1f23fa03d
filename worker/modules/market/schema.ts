// Request and response shapes of /api/market (spec §3.8).
import { z } from "zod";
import { optionalText, orDefault, requiredText, storableString } from "../../http/fields";

export const createItemBody = z.object({
  key: z.string().trim().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "Use 1–64 lowercase letters, digits, '_', '.' or '-'"),
  name: requiredText(200),
  category: requiredText(100),
  cost_coins: z.number().int().min(0).max(1_000_000),
  description: optionalText(5000),
  icon: optionalText(100),
  image_url: storableString(z.url({ protocol: /^https?$/ }).max(2000)).nullish(),
  is_consumable: orDefault(z.boolean(), true),
  uses_per_purchase: z.number().int().min(1).max(10_000).nullish(),
  total_stock: z.number().int().min(0).max(1_000_000).nullish(),
});
export type CreateItem = z.infer<typeof createItemBody>;

export const purchaseBody = z.object({
  item_key: requiredText(200),
  quantity: orDefault(z.number().int().min(1, "Quantity must be at least 1").max(100), 1),
});
export type PurchaseInput = z.infer<typeof purchaseBody>;

// Any 8-4-4-4-12 hex id, as PostgreSQL accepts: an unknown one is a 404, not a 422.
export const redeemBody = z.object({ purchase_id: z.guid() });

export const itemsQuery = z.object({ category: requiredText(100).optional() });

export const historyQuery = z.object({
  // At most 100 purchases per page; a larger limit is lowered to 100.
  limit: z.coerce.number().int().min(1).default(20).transform((n) => Math.min(n, 100)),
});

/** A market_items row as the repo reads it. */
export interface ItemRow {
  id: string;
  key: string;
  name: string;
  description: string | null;
  category: string;
  cost_coins: number;
  icon: string | null;
  image_url: string | null;
  is_consumable: boolean;
  uses_per_purchase: number | null;
  remaining_stock: number | null;
  is_available: boolean;
  is_active: boolean;
}

/** Item: is_available means available and active. */
export function itemOf(row: ItemRow) {
  const { is_active, ...item } = row;
  return { ...item, is_available: row.is_available && is_active };
}

export interface Purchase {
  id: string;
  item_key: string;
  item_name: string;
  cost_coins: number;
  quantity: number;
  purchased_at: string;
  status: string;
  uses_remaining: number | null;
}

export interface Wallet {
  coins: number;
  lifetime_earned: number;
  lifetime_spent: number;
}
