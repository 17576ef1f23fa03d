// Market purchase and redeem (spec §3.8). A purchase is one transaction: stock, coins (with the
// ledger row), purchase row and audit row commit together or not at all.
import { audit } from "../../auth/audit";
import type { AuthUser } from "../../auth/user";
import type { AppContext } from "../../context";
import { sqlState } from "../../db/errors";
import type { Sql } from "../../db/sql";
import { AppError } from "../../http/errors";
import { spendCoins } from "../gamification/service";
import { findItem, insertItem, insertPurchase, lockPurchase, storeRedeem, takeStock } from "./repo";
import { redeemOnce, usesBought } from "./rules";
import { itemOf, type CreateItem, type PurchaseInput } from "./schema";

export async function createItem(sql: Sql, userId: string, input: CreateItem) {
  try {
    return itemOf(await insertItem(sql, userId, input));
  } catch (err) {
    if (sqlState(err) === "23505") throw new AppError("conflict", `An item with key '${input.key}' already exists`);
    throw err;
  }
}

const MAX_PAYMENT = 2_147_483_647;

export async function purchase(tx: Sql, ctx: AppContext, user: AuthUser, input: PurchaseInput) {
  const { quantity } = input;
  const item = await findItem(tx, input.item_key);
  if (!item) throw new AppError("not_found", "Item not found");
  if (!item.is_available || !item.is_active) throw new AppError("bad_request", "Item not available");
  const total = item.cost_coins * quantity;
  // A ledger row's coins are a 32-bit integer. The API caps prices, but one set in the database
  // directly could make a total no ledger row can record.
  if (total > MAX_PAYMENT) throw new AppError("bad_request", `A purchase may cost at most ${MAX_PAYMENT} coins; this one costs ${total}`);
  if (item.remaining_stock !== null) {
    const left = await takeStock(tx, item.id, quantity);
    if (left === null) throw new AppError("bad_request", "Insufficient stock");
    item.remaining_stock = left;
  }
  const id = crypto.randomUUID();
  // The debit, the purchase row and its audit row go out together (one round trip); when the
  // balance does not cover it, spendCoins throws and the transaction undoes the other two.
  const [balance, bought] = await Promise.all([
    spendCoins(tx, user.id, {
      amount: total,
      eventId: id,
      key: `purchase_${id}`,
      reason: `Purchased ${item.name} x${quantity}`,
    }),
    insertPurchase(tx, { id, userId: user.id, item, cost: total, quantity, usesRemaining: usesBought(item, quantity) }),
    audit(tx, ctx, "purchase", {
      userId: user.id,
      sessionId: user.sessionId,
      resourceType: "market_item",
      resourceId: item.id,
      action: `Purchased ${item.name} x${quantity} for ${total} coins`,
      details: { purchase_id: id, item_key: item.key, quantity, cost_coins: total },
    }),
  ]);
  return { data: { purchase: bought, new_balance: balance, item: itemOf(item) } };
}

export async function redeem(tx: Sql, userId: string, purchaseId: string) {
  const p = await lockPurchase(tx, userId, purchaseId);
  if (!p) throw new AppError("not_found", "Purchase not found");
  if (p.status !== "purchased") throw new AppError("bad_request", `Cannot redeem: status is ${p.status}`);
  if (!p.is_consumable) throw new AppError("bad_request", "Item is not consumable");
  const step = redeemOnce(p.uses_remaining);
  const updated = await storeRedeem(tx, purchaseId, step.usesRemaining, step.fullyRedeemed);
  const message = step.fullyRedeemed ? `Fully redeemed: ${p.item_name}` : `Used 1 of ${p.item_name}: ${step.usesRemaining} remaining`;
  return { purchase: updated, message };
}
