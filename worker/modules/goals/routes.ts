import { requireUser } from "../../auth/authenticate";
import { lockWriteCommit } from "../../db/user-lock";
import { AppError, overCap } from "../../http/errors";
import { idParam, parseQuery } from "../../http/params";
import { json } from "../../http/response";
import { parseBody } from "../../http/validate";
import type { AppRouter } from "../../router";
import { findGoal, insertGoal, listGoals } from "./repo";
import { MAX_OPEN_GOALS } from "./rules";
import { createGoalBody, createMilestoneBody, listGoalsQuery } from "./schema";
import { addMilestone, completeMilestone } from "./service";

export function goalRoutes(router: AppRouter): void {
  router
    .get("/api/goals", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const { status } = parseQuery(req, listGoalsQuery);
      const goals = await listGoals(ctx.db(), user.id, status ?? null);
      return json({ data: { goals, total: goals.length } });
    })
    .post("/api/goals", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const input = await parseBody(req, ctx, createGoalBody);
      // Under the user's lock, so that parallel creates cannot pass the cap together.
      const goal = await ctx.db().transaction((tx) => lockWriteCommit(tx, "goals.create", user.id, () => insertGoal(tx, user.id, input, MAX_OPEN_GOALS)));
      if (!goal) throw overCap(MAX_OPEN_GOALS, "open goals");
      return json({ data: goal });
    })
    // Static segment before /:id (itty-router matches in registration order).
    .post("/api/goals/milestones/:id/complete", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const id = idParam(req.params.id, "Milestone not found");
      return json({ data: await ctx.db().transaction((tx) => completeMilestone(tx, user.id, id)) });
    })
    .get("/api/goals/:id", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const goal = await findGoal(ctx.db(), user.id, idParam(req.params.id, "Goal not found"));
      if (!goal) throw new AppError("not_found", "Goal not found");
      return json({ data: goal });
    })
    .post("/api/goals/:id/milestones", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const id = idParam(req.params.id, "Goal not found");
      const input = await parseBody(req, ctx, createMilestoneBody);
      return json({ data: await ctx.db().transaction((tx) => addMilestone(tx, user.id, id, input)) });
    });
}
