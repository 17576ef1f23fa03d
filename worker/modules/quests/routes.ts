import { requireUser } from "../../auth/authenticate";
import type { AppContext } from "../../context";
import type { Tx } from "../../db/sql";
import { AppError } from "../../http/errors";
import { idParam, parseQuery } from "../../http/params";
import { json } from "../../http/response";
import { parseBody } from "../../http/validate";
import type { AppRouter, Handler } from "../../router";
import { findQuest, listQuests } from "./repo";
import { createQuestBody, listQuestsQuery } from "./schema";
import { abandonQuest, acceptQuest, completeQuest, createQuest } from "./service";

/** POST /api/quests/{id}/<action>: one transaction around the action for the caller's quest. */
function action(run: (tx: Tx, userId: string, id: string) => Promise<unknown>): Handler {
  return async (req, ctx: AppContext) => {
    const user = await requireUser(ctx, req);
    const id = idParam(req.params.id, "Quest not found");
    return json({ data: await ctx.db().transaction((tx) => run(tx, user.id, id)) });
  };
}

export function questRoutes(router: AppRouter): void {
  router
    .get("/api/quests", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const { status } = parseQuery(req, listQuestsQuery);
      const quests = await listQuests(ctx.db(), user.id, status ?? null);
      return json({ data: { quests, total: quests.length } });
    })
    .post("/api/quests", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const input = await parseBody(req, ctx, createQuestBody);
      return json({ data: await ctx.db().transaction((tx) => createQuest(tx, user.id, input)) });
    })
    .get("/api/quests/:id", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const quest = await findQuest(ctx.db(), user.id, idParam(req.params.id, "Quest not found"));
      if (!quest) throw new AppError("not_found", "Quest not found");
      return json({ data: quest });
    })
    .post("/api/quests/:id/accept", action(acceptQuest))
    .post("/api/quests/:id/complete", action(completeQuest))
    .post("/api/quests/:id/abandon", action(abandonQuest));
}
