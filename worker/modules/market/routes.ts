import { requireAdmin, requireUser } from "../../auth/authenticate";
import { AppError } from "../../http/errors";
import { idempotent, parseIdempotentBody } from "../../http/idempotency";
import { parseQuery } from "../../http/params";
import { json } from "../../http/response";
import { parseBody } from "../../http/validate";
import type { AppRouter } from "../../router";
import { findItem, listItems, listPurchases, readWallet } from "./repo";
import { createItemBody, historyQuery, itemOf, itemsQuery, purchaseBody, redeemBody } from "./schema";
import { createItem, purchase, redeem } from "./service";

const FEATURED = 6;

export function marketRoutes(router: AppRouter): void {
  router
    .get("/api/market", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const db = ctx.db();
      const [wallet, items] = await Promise.all([readWallet(db, user.id), listItems(db, null)]);
      const categories = [...new Set(items.map((i) => i.category))].sort();
      return json({ data: { wallet, featured_items: items.slice(0, FEATURED).map(itemOf), categories } });
    })
    .get("/api/market/items", async (req, ctx) => {
      await requireUser(ctx, req);
      const { category } = parseQuery(req, itemsQuery);
      const items = (await listItems(ctx.db(), category ?? null)).map(itemOf);
      return json({ data: { items, total: items.length } });
    })
    .post("/api/market/items", async (req, ctx) => {
      const admin = await requireAdmin(ctx, req);
      const input = await parseBody(req, ctx, createItemBody);
      return json({ data: await createItem(ctx.db(), admin.id, input) });
    })
    .get("/api/market/items/:key", async (req, ctx) => {
      await requireUser(ctx, req);
      // Keys are [a-z0-9_.-], never percent-encoded: the raw segment is the key.
      const item = await findItem(ctx.db(), req.params.key ?? "");
      if (!item) throw new AppError("not_found", "Item not found");
      return json({ data: itemOf(item) });
    })
    .post("/api/market/purchase", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const input = await parseIdempotentBody(req, () => parseBody(req, ctx, purchaseBody));
      // A purchase starts with a plain read of the item: it may go out with the key's check.
      return idempotent(ctx, req, user.id, "POST /api/market/purchase", input, (tx) => purchase(tx, ctx, user, input), { firstStatementReads: true });
    })
    .post("/api/market/redeem", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      // Idempotency-Key too: a redeem whose answer was lost, sent again, must not take a second use.
      const { purchase_id } = await parseIdempotentBody(req, () => parseBody(req, ctx, redeemBody));
      const id = purchase_id.toLowerCase();
      return idempotent(ctx, req, user.id, "POST /api/market/redeem", { purchase_id: id }, async (tx) => ({ data: await redeem(tx, user.id, id) }));
    })
    .get("/api/market/history", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const { limit } = parseQuery(req, historyQuery);
      const purchases = await listPurchases(ctx.db(), user.id, limit);
      return json({ data: { purchases, total: purchases.length } });
    })
    .get("/api/market/wallet", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      return json({ data: await readWallet(ctx.db(), user.id) });
    });
}
