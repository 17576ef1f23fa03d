import { requireUser } from "../../auth/authenticate";
import { idParam, parseQuery } from "../../http/params";
import { json } from "../../http/response";
import { parseOptionalBody } from "../../http/validate";
import type { AppRouter } from "../../router";
import { findLive, findPauseState, listSessions, sessionStats } from "./repo";
import { focusSessionOf, listFocusQuery, startFocusBody } from "./schema";
import { abandonSession, completeSession, pauseLatest, resumePaused, startSession } from "./service";

const PERIOD_DAYS = { day: 1, week: 7, month: 30, all: null } as const;

export function focusRoutes(router: AppRouter): void {
  router
    .get("/api/focus", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const q = parseQuery(req, listFocusQuery);
      if (q.stats) return json({ data: await sessionStats(ctx.db(), user.id, PERIOD_DAYS[q.period]) });
      const { sessions, total } = await listSessions(ctx.db(), user.id, q.page, q.page_size);
      const now = Date.now();
      return json({ data: { sessions: sessions.map((s) => focusSessionOf(s, now)), total, page: q.page, page_size: q.page_size } });
    })
    .post("/api/focus", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const input = await parseOptionalBody(req, ctx, startFocusBody);
      return json({ data: await ctx.db().transaction((tx) => startSession(tx, user.id, input)) });
    })
    .get("/api/focus/active", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const { session, pause } = await findLive(ctx.db(), user.id);
      return json({ data: { session: session && focusSessionOf(session), pause_state: pause } });
    })
    .get("/api/focus/pause", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      return json({ data: await findPauseState(ctx.db(), user.id) });
    })
    .post("/api/focus/pause", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      return json({ data: await ctx.db().transaction((tx) => pauseLatest(tx, user.id)) });
    })
    .delete("/api/focus/pause", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      return json({ data: await ctx.db().transaction((tx) => resumePaused(tx, user.id)) });
    })
    .post("/api/focus/:id/complete", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const id = idParam(req.params.id, "Session not found");
      return json({ data: await ctx.db().transaction((tx) => completeSession(tx, user.id, id)) });
    })
    .post("/api/focus/:id/abandon", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const id = idParam(req.params.id, "Session not found");
      return json({ data: await ctx.db().transaction((tx) => abandonSession(tx, user.id, id)) });
    });
}
