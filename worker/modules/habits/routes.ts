import { requireUser } from "../../auth/authenticate";
import { lockWriteCommit } from "../../db/user-lock";
import { overCap } from "../../http/errors";
import { idParam } from "../../http/params";
import { json } from "../../http/response";
import { parseBody, parseOptionalBody } from "../../http/validate";
import type { AppRouter } from "../../router";
import { localDate } from "../gamification/today";
import { insertHabit, listActiveHabits } from "./repo";
import { MAX_ACTIVE_HABITS } from "./rules";
import { completeHabitBody, createHabitBody, habitOf } from "./schema";
import { completeHabit } from "./service";

export function habitRoutes(router: AppRouter): void {
  router
    .get("/api/habits", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const { habits, timezone } = await listActiveHabits(ctx.db(), user.id);
      const today = localDate(timezone);
      return json({ data: { habits: habits.map((h) => habitOf(h, today)) } });
    })
    .post("/api/habits", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const input = await parseBody(req, ctx, createHabitBody);
      // Under the user's lock, so that parallel creates cannot pass the cap together.
      const habit = await ctx.db().transaction((tx) => lockWriteCommit(tx, "habits.create", user.id, () => insertHabit(tx, user.id, input, MAX_ACTIVE_HABITS)));
      if (!habit) throw overCap(MAX_ACTIVE_HABITS, "active habits");
      return json({ data: habitOf(habit, localDate(null)) }); // no logs yet: completed_today is false
    })
    .post("/api/habits/:id/complete", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const id = idParam(req.params.id, "Habit not found");
      const { notes } = await parseOptionalBody(req, ctx, completeHabitBody);
      return json({ data: await ctx.db().transaction((tx) => completeHabit(tx, user.id, id, notes ?? null)) });
    });
}
