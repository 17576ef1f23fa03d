// Goals and milestones through HTTP (spec §3.4): progress from milestones, XP, completion bonus.
import { beforeEach, describe, expect, it } from "vitest";
import { awayFromLocalMidnight } from "../support/clock";
import { expectLedgerInvariant, newUser, sql, wallet, type User } from "../support/economy";

describe("goals", () => {
  let u: User;
  // Each test dates its steps by the user's 'today': keep them all on one side of midnight.
  beforeEach(() => awayFromLocalMidnight([null]));
  beforeEach(async () => {
    u = await newUser();
  });

  it("creates a goal (started now, no milestones) and reads it back", async () => {
    const g = await u.ok("POST", "/api/goals", { title: "Run a marathon", category: "fitness", target_date: "2027-04-12", priority: 3 });
    expect(g).toMatchObject({
      title: "Run a marathon", description: null, category: "fitness", target_date: "2027-04-12", completed_at: null,
      status: "active", progress: 0, priority: 3, milestones: [], total_milestones: 0, completed_milestones: 0,
    });
    expect(Math.abs(Date.parse(g.started_at) - Date.now())).toBeLessThan(60_000);
    expect(await u.ok("GET", `/api/goals/${g.id}`)).toEqual(g);
  });

  it("completing every milestone at once still finishes the goal and pays its bonus once", async () => {
    for (let round = 0; round < 3; round++) {
      const g = await u.ok("POST", "/api/goals", { title: `Race ${round}` });
      const ms = [];
      for (let i = 0; i < 4; i++) ms.push(await u.ok("POST", `/api/goals/${g.id}/milestones`, { title: `m${i}` }));
      const before = (await wallet(u)).coins;
      await Promise.all(ms.map((m) => u.ok("POST", `/api/goals/milestones/${m.id}/complete`)));
      expect(await u.ok("GET", `/api/goals/${g.id}`)).toMatchObject({ progress: 100, status: "completed", completed_milestones: 4 });
      expect((await wallet(u)).coins - before).toBe(20);
    }
    await expectLedgerInvariant(u);
  });

  it("caps open goals at 200 per account and milestones at 100 per goal (409)", async () => {
    await sql("INSERT INTO goals (user_id, title) SELECT $1, 'g' || i FROM generate_series(1, 199) i", [u.id]);
    const g = await u.ok("POST", "/api/goals", { title: "the 200th" });
    const over = await u.send("/api/goals", { title: "one too many" });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ error: "conflict", message: "You already have 200 open goals, the most one account can have" });
    await sql("UPDATE goals SET status = 'abandoned' WHERE user_id = $1 AND title = 'g1'", [u.id]);
    expect((await u.send("/api/goals", { title: "room again" })).status).toBe(200);

    await sql("INSERT INTO goal_milestones (goal_id, title, sort_order) SELECT $1, 'm' || i, i FROM generate_series(1, 99) i", [g.id]);
    expect((await u.send(`/api/goals/${g.id}/milestones`, { title: "the 100th" })).status).toBe(200);
    const tooMany = await u.send(`/api/goals/${g.id}/milestones`, { title: "one too many" });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.message).toBe("This goal already has 100 milestones, the most one goal can have");
    expect(await u.ok("GET", `/api/goals/${g.id}`)).toMatchObject({ progress: 0 });
  });

  it("validates fields and the status filter (422 per field)", async () => {
    const r = await u.send("/api/goals", { title: "", target_date: "2027-02-30", priority: "high" });
    expect(r.status).toBe(422);
    expect(r.body.details.map((d: { field: string }) => d.field).sort()).toEqual(["priority", "target_date", "title"]);
    expect((await u.get("/api/goals?status=finished")).status).toBe(422);
    // A date PostgreSQL cannot store (there is no year 0) is a 422, never a 500.
    const year0 = await u.send("/api/goals", { title: "Old", target_date: "0000-01-01" });
    expect(year0.status).toBe(422);
    expect(year0.body.details[0].field).toBe("target_date");
    // A malformed date is one problem, with one message (not also "before 1900").
    const slashes = await u.send("/api/goals", { title: "Fmt", target_date: "01/02/2027" });
    expect(slashes.status).toBe(422);
    expect(slashes.body.details).toHaveLength(1);
    expect(slashes.body.details[0].field).toBe("target_date");
    expect(slashes.body.details[0].message).not.toMatch(/1900/);
    const g = await u.ok("POST", "/api/goals", { title: "G" });
    expect((await u.send(`/api/goals/${g.id}/milestones`, { title: "   " })).status).toBe(422);
  });

  it("lists by priority, then title, with milestones in order; filters by status", async () => {
    const low = await u.ok("POST", "/api/goals", { title: "B low" });
    const high = await u.ok("POST", "/api/goals", { title: "Z high", priority: 5 });
    const alsoLow = await u.ok("POST", "/api/goals", { title: "A low" });
    const m1 = await u.ok("POST", `/api/goals/${low.id}/milestones`, { title: "first", description: "d" });
    const m2 = await u.ok("POST", `/api/goals/${low.id}/milestones`, { title: "second" });
    expect(m1).toMatchObject({ goal_id: low.id, title: "first", description: "d", is_completed: false, completed_at: null, sort_order: 0 });
    expect(m2.sort_order).toBe(1);
    const list = await u.ok("GET", "/api/goals");
    expect(list.total).toBe(3);
    expect(list.goals.map((g: { id: string }) => g.id)).toEqual([high.id, alsoLow.id, low.id]);
    expect(list.goals[2].milestones.map((m: { id: string }) => m.id)).toEqual([m1.id, m2.id]);
    expect(list.goals[2]).toMatchObject({ total_milestones: 2, completed_milestones: 0 });
    expect((await u.ok("GET", "/api/goals?status=completed")).total).toBe(0);
  });

  it("progress = completed·100/total; the last milestone completes the goal and pays 20 coins once", async () => {
    const g = await u.ok("POST", "/api/goals", { title: "Three steps" });
    const ms = [];
    for (const t of ["one", "two", "three"]) ms.push(await u.ok("POST", `/api/goals/${g.id}/milestones`, { title: t }));

    const r1 = await u.ok("POST", `/api/goals/milestones/${ms[0].id}/complete`);
    expect(r1).toMatchObject({ goal_progress: 33, goal_completed: false });
    expect(r1.milestone).toMatchObject({ id: ms[0].id, is_completed: true });
    expect(r1.milestone.completed_at).toMatch(/Z$/);
    // Completing it again pays nothing more and does not change progress.
    expect(await u.ok("POST", `/api/goals/milestones/${ms[0].id}/complete`)).toMatchObject({ goal_progress: 33 });
    expect(await u.ok("POST", `/api/goals/milestones/${ms[1].id}/complete`)).toMatchObject({ goal_progress: 66 });
    const last = await u.ok("POST", `/api/goals/milestones/${ms[2].id}/complete`);
    expect(last).toMatchObject({ goal_progress: 100, goal_completed: true });

    const goal = await u.ok("GET", `/api/goals/${g.id}`);
    expect(goal).toMatchObject({ status: "completed", progress: 100, completed_milestones: 3 });
    expect(goal.completed_at).toMatch(/Z$/);
    const ledger = await sql<{ event_type: string; xp: number; coins: number }>(
      "SELECT event_type, xp, coins FROM points_ledger WHERE user_id = $1 AND event_type IN ('milestone_complete', 'goal_complete') ORDER BY created_at, event_type DESC",
      [u.id],
    );
    expect(ledger).toEqual([
      { event_type: "milestone_complete", xp: 10, coins: 0 },
      { event_type: "milestone_complete", xp: 10, coins: 0 },
      { event_type: "milestone_complete", xp: 10, coins: 0 },
      { event_type: "goal_complete", xp: 0, coins: 20 },
    ]);
    expect((await wallet(u)).coins).toBe(20);

    // A new milestone reopens the goal; finishing it again does not pay the goal bonus twice.
    const extra = await u.ok("POST", `/api/goals/${g.id}/milestones`, { title: "four" });
    expect(await u.ok("GET", `/api/goals/${g.id}`)).toMatchObject({ status: "active", progress: 75, completed_at: null });
    expect(await u.ok("POST", `/api/goals/milestones/${extra.id}/complete`)).toMatchObject({ goal_progress: 100, goal_completed: true });
    expect((await wallet(u)).coins).toBe(20);
    await expectLedgerInvariant(u);
  });

  it("re-completing a milestone on a later day pays nothing but counts as that day's activity", async () => {
    const g = await u.ok("POST", "/api/goals", { title: "Again" });
    const m = await u.ok("POST", `/api/goals/${g.id}/milestones`, { title: "once" });
    await u.ok("POST", `/api/goals/milestones/${m.id}/complete`);
    // As if the first completion had been yesterday (UTC: the user has no timezone).
    await sql(
      "UPDATE user_streaks SET last_activity_date = (now() AT TIME ZONE 'UTC')::date - 1 WHERE user_id = $1 AND streak_type = 'daily_activity'",
      [u.id],
    );
    const before = await expectLedgerInvariant(u);
    await u.ok("POST", `/api/goals/milestones/${m.id}/complete`);
    expect(await expectLedgerInvariant(u)).toEqual(before);
    const [streak] = await sql(
      "SELECT current_streak, last_activity_date = (now() AT TIME ZONE 'UTC')::date AS today FROM user_streaks WHERE user_id = $1 AND streak_type = 'daily_activity'",
      [u.id],
    );
    expect(streak).toEqual({ current_streak: 2, today: true });
  });

  it("a re-completion that makes the daily streak 7 days unlocks 'Week Warrior' and pays its reward", async () => {
    const g = await u.ok("POST", "/api/goals", { title: "Daily" });
    const m = await u.ok("POST", `/api/goals/${g.id}/milestones`, { title: "once" });
    await u.ok("POST", `/api/goals/milestones/${m.id}/complete`);
    // As if six days in a row had ended yesterday (UTC: the user has no timezone).
    await sql(
      `UPDATE user_streaks SET current_streak = 6, longest_streak = 6, last_activity_date = (now() AT TIME ZONE 'UTC')::date - 1
       WHERE user_id = $1 AND streak_type = 'daily_activity'`,
      [u.id],
    );
    const coins = (await wallet(u)).coins;
    await u.ok("POST", `/api/goals/milestones/${m.id}/complete`); // pays nothing itself
    const unlocked = await sql("SELECT achievement_key FROM user_achievements WHERE user_id = $1 AND achievement_key = 'streak_7'", [u.id]);
    expect(unlocked).toHaveLength(1);
    const [reward] = await sql<{ coins: number }>(
      "SELECT coins FROM points_ledger WHERE user_id = $1 AND idempotency_key = 'achievement_streak_7_' || $1",
      [u.id],
    );
    expect(reward).toEqual({ coins: 50 }); // Week Warrior's reward (migration 0002)
    expect((await wallet(u)).coins).toBe(coins + 50);
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ current_streak: 7 });
    await expectLedgerInvariant(u);
  });

  it("answers 404 for unknown, malformed and other users' goals and milestones", async () => {
    const other = await newUser();
    const g = await other.ok("POST", "/api/goals", { title: "Theirs" });
    const m = await other.ok("POST", `/api/goals/${g.id}/milestones`, { title: "m" });
    const cases = [
      ["GET", `/api/goals/${g.id}`, "Goal not found"],
      ["GET", "/api/goals/nope", "Goal not found"],
      ["POST", `/api/goals/${g.id}/milestones`, "Goal not found"],
      ["POST", `/api/goals/milestones/${m.id}/complete`, "Milestone not found"],
      ["POST", "/api/goals/milestones/00000000-0000-4000-8000-000000000000/complete", "Milestone not found"],
    ] as const;
    for (const [method, path, message] of cases) {
      const r = await u.call(method, path, method === "POST" ? { title: "x" } : undefined);
      expect(r.status).toBe(404);
      expect(r.body.message).toBe(message);
    }
    expect((await other.ok("GET", `/api/goals/${g.id}`)).milestones).toHaveLength(1);
    expect((await other.ok("GET", `/api/goals/${g.id}`)).completed_milestones).toBe(0);
  });
});
