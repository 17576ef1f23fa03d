import { requireUser } from "../../auth/authenticate";
import { json } from "../../http/response";
import type { AppRouter } from "../../router";
import { listUnearnedVisible, readProgress } from "./repo";
import { summaryOf, teaserOf } from "./schema";

export function gamificationRoutes(router: AppRouter): void {
  router
    .get("/api/gamification/summary", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      return json({ data: summaryOf(await readProgress(ctx.db(), user.id)) });
    })
    .get("/api/gamification/teaser", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const db = ctx.db();
      const [progress, defs] = await Promise.all([readProgress(db, user.id), listUnearnedVisible(db, user.id)]);
      return json({ teaser: teaserOf(defs, summaryOf(progress)) });
    });
}
