// Focus sessions through HTTP (spec §3.1): lifecycle, pause/resume, rewards credited, stats.
import { beforeEach, describe, expect, it } from "vitest";
import { expectLedgerInvariant, newUser, sql, wallet, type User } from "../support/economy";

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe("focus sessions", () => {
  let u: User;
  beforeEach(async () => {
    u = await newUser();
  });

  it("starts a session with defaults: active, 25 minutes, expiring after its duration", async () => {
    const before = Date.now();
    const s = await u.ok("POST", "/api/focus");
    const took = Math.ceil((Date.now() - before) / 1000);
    expect(s).toMatchObject({ mode: "focus", duration_seconds: 1500, status: "active", xp_awarded: 0, coins_awarded: 0, task_title: null });
    expect(s.started_at).toMatch(RFC3339_UTC);
    expect(Date.parse(s.expires_at) - Date.parse(s.started_at)).toBe(1500 * 1000);
    expect(s.time_remaining_seconds).toBeGreaterThanOrEqual(1500 - took - 1);
    expect(s.time_remaining_seconds).toBeLessThanOrEqual(1500);
    expect(s.completed_at).toBeNull();
  });

  it("treats null like an absent field: the defaults apply", async () => {
    const s = await u.ok("POST", "/api/focus", { mode: null, duration_seconds: null, task_id: null, task_title: null });
    expect(s).toMatchObject({ mode: "focus", duration_seconds: 1500, status: "active", task_title: null });
  });

  it("validates mode, duration and task fields (422 listing each bad field)", async () => {
    const r = await u.send("/api/focus", { mode: "nap", duration_seconds: 10, task_id: "nope" });
    expect(r.status).toBe(422);
    expect(r.body.error).toBe("validation_error");
    expect(r.body.details.map((d: { field: string }) => d.field).sort()).toEqual(["duration_seconds", "mode", "task_id"]);
    expect((await u.send("/api/focus", { duration_seconds: 1500.5 })).status).toBe(422);
    expect((await u.send("/api/focus", { duration_seconds: 14_401 })).status).toBe(422);
    expect((await u.get("/api/focus?page=0")).status).toBe(422);
    expect((await u.get("/api/focus?page_size=0")).status).toBe(422);
    // Over 100 is lowered to 100, and the answer says so.
    const big = await u.get("/api/focus?page_size=500");
    expect(big.status).toBe(200);
    expect(big.body.data.page_size).toBe(100);
    expect((await u.get("/api/focus?stats=true&period=year")).status).toBe(422);
  });

  it("keeps one live session: starting another abandons the first", async () => {
    const first = await u.ok("POST", "/api/focus", { task_title: "Write" });
    const second = await u.ok("POST", "/api/focus", { mode: "break", duration_seconds: 300 });
    const list = await u.ok("GET", "/api/focus");
    expect(list.total).toBe(2);
    expect(list.sessions.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      [second.id, "active"],
      [first.id, "abandoned"],
    ]);
    expect(list.sessions[1].abandoned_at).toMatch(RFC3339_UTC);
    expect(list.sessions[1]).not.toHaveProperty("time_remaining_seconds");
    const active = await u.ok("GET", "/api/focus/active");
    expect(active.session.id).toBe(second.id);
    expect(active.pause_state).toBeNull();
  });

  it("two starts at the same moment still leave exactly one live session", async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => u.send("/api/focus")));
    for (const r of results) expect([200, 409]).toContain(r.status);
    const [{ n }] = await sql<{ n: number }>("SELECT count(*)::int AS n FROM focus_sessions WHERE user_id = $1 AND status IN ('active', 'paused')", [u.id]);
    expect(n).toBe(1);
  });

  it("pauses and resumes, carrying the remaining time", async () => {
    expect((await u.send("/api/focus/pause")).body).toMatchObject({ error: "not_found", message: "No active session to pause" });
    const before = Date.now();
    const s = await u.ok("POST", "/api/focus", { mode: "long_break", duration_seconds: 900 });
    const pause = await u.ok("POST", "/api/focus/pause");
    const took = Math.ceil((Date.now() - before) / 1000);
    expect(pause.mode).toBe("long_break");
    expect(pause.time_remaining_seconds).toBeGreaterThanOrEqual(900 - took - 1);
    expect(pause.time_remaining_seconds).toBeLessThanOrEqual(900);
    expect(pause.paused_at).toMatch(RFC3339_UTC);
    expect(await u.ok("GET", "/api/focus/pause")).toEqual(pause);
    expect((await u.send("/api/focus/pause")).body).toMatchObject({ error: "bad_request", message: "Session is not active" });

    const active = await u.ok("GET", "/api/focus/active");
    expect(active.session).toMatchObject({ id: s.id, status: "paused", time_remaining_seconds: pause.time_remaining_seconds });
    expect(active.pause_state).toEqual(pause);

    // While paused the clock stands still; resuming restarts it from what was left.
    await sql("UPDATE focus_sessions SET expires_at = expires_at - interval '1 hour' WHERE id = $1", [s.id]);
    const resumed = await u.ok("DELETE", "/api/focus/pause");
    expect(resumed).toMatchObject({ id: s.id, status: "active" });
    expect(resumed.time_remaining_seconds).toBeGreaterThanOrEqual(pause.time_remaining_seconds - 1);
    expect(resumed.time_remaining_seconds).toBeLessThanOrEqual(pause.time_remaining_seconds);
    expect(await u.ok("GET", "/api/focus/pause")).toBeNull();
    expect((await u.call("DELETE", "/api/focus/pause")).body).toMatchObject({ error: "not_found", message: "No paused session to resume" });
  });

  it.each([
    ["focus", 1500, 25, 5],
    ["focus", 60, 5, 2],
    ["focus", 3599, 59, 11],
    ["break", 300, 2, 0],
    ["long_break", 900, 3, 1],
  ])("completing %s of %i s pays %i XP and %i coins, credited to progress and wallet", async (mode, duration, xp, coins) => {
    const s = await u.ok("POST", "/api/focus", { mode, duration_seconds: duration });
    const done = await u.ok("POST", `/api/focus/${s.id}/complete`);
    expect(done).toMatchObject({ xp_awarded: xp, coins_awarded: coins, leveled_up: false, new_level: 1 });
    expect(done.session).toMatchObject({ id: s.id, status: "completed", xp_awarded: xp, coins_awarded: coins });
    expect(done.session.completed_at).toMatch(RFC3339_UTC);
    expect(done.session).not.toHaveProperty("time_remaining_seconds");
    const ledger = await sql("SELECT event_type, xp, coins, idempotency_key FROM points_ledger WHERE user_id = $1 AND event_type = 'focus_complete'", [u.id]);
    expect(ledger).toEqual([{ event_type: "focus_complete", xp, coins, idempotency_key: `focus_complete_${s.id}` }]);
    // The first completed session also unlocks "First Focus" (5 coins, 10 XP) — credited too.
    expect((await wallet(u)).coins).toBe(coins + 5);
    const summary = await u.ok("GET", "/api/gamification/summary");
    expect(summary.total_xp).toBe(xp + 10);
    await expectLedgerInvariant(u);
  });

  it("a paused session can be completed; a finished one cannot be completed or abandoned again", async () => {
    const s = await u.ok("POST", "/api/focus");
    await u.ok("POST", "/api/focus/pause");
    await u.ok("POST", `/api/focus/${s.id}/complete`);
    expect(await u.ok("GET", "/api/focus/pause")).toBeNull();
    const again = await u.send(`/api/focus/${s.id}/complete`);
    expect(again.status).toBe(400);
    expect(again.body.message).toBe("Session cannot be completed (status: completed)");
    expect((await u.send(`/api/focus/${s.id}/abandon`)).body.message).toBe("Session cannot be abandoned (status: completed)");
    const [{ n }] = await sql<{ n: number }>("SELECT count(*)::int AS n FROM points_ledger WHERE user_id = $1 AND event_type = 'focus_complete'", [u.id]);
    expect(n).toBe(1);
  });

  it("completing the same session concurrently pays once", async () => {
    const s = await u.ok("POST", "/api/focus");
    const results = await Promise.all(Array.from({ length: 8 }, () => u.send(`/api/focus/${s.id}/complete`)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(7);
    await expectLedgerInvariant(u);
  });

  it("a write that fails after the checks (it goes out with COMMIT) undoes the whole completion", async () => {
    const s = await u.ok("POST", "/api/focus");
    // A wallet at the largest balance a bigint holds: the reward's credit fails in PostgreSQL (bigint out
    // of range), after every check of the completion passed. Nothing of it may stay.
    const MAX = "9223372036854775807";
    await sql("INSERT INTO user_wallet (user_id, coins, total_earned) VALUES ($1, $2, $2)", [u.id, MAX]);
    const failed = await u.send(`/api/focus/${s.id}/complete`);
    expect(failed.status).toBe(422); // a value PostgreSQL refused
    expect((await u.ok("GET", "/api/focus/active")).session).toMatchObject({ id: s.id, status: "active" });
    const left = await sql<{ ledger: number; streaks: number; xp: string | null }>(
      `SELECT (SELECT count(*)::int FROM points_ledger WHERE user_id = $1) AS ledger,
              (SELECT count(*)::int FROM user_streaks WHERE user_id = $1) AS streaks,
              (SELECT total_xp::text FROM user_progress WHERE user_id = $1) AS xp`,
      [u.id],
    );
    expect(left).toEqual([{ ledger: 0, streaks: 0, xp: null }]); // not even the progress row the award created

    await sql("UPDATE user_wallet SET coins = 0, total_earned = 0 WHERE user_id = $1", [u.id]);
    const done = await u.ok("POST", `/api/focus/${s.id}/complete`);
    expect(done.session.status).toBe("completed");
    const paid = await sql<{ event_type: string }>("SELECT event_type FROM points_ledger WHERE user_id = $1 ORDER BY event_type DESC", [u.id]);
    expect(paid.map((r) => r.event_type)).toEqual(["focus_complete", "achievement_unlocked"]); // First Focus
    await expectLedgerInvariant(u);
  });

  it("resume, pause, start, complete and abandon at the same moment: no deadlock, and the pause state always names the paused session", async () => {
    // 10 rounds of 7 state changes stay under the default limit of 100 a minute.
    for (let round = 0; round < 10; round++) {
      const s = await u.ok("POST", "/api/focus");
      await u.ok("POST", "/api/focus/pause");
      const results = await Promise.all([
        u.call("DELETE", "/api/focus/pause"),
        u.send(`/api/focus/${s.id}/complete`),
        round % 2 ? u.send(`/api/focus/${s.id}/abandon`) : u.send("/api/focus/pause"),
        u.send("/api/focus"),
        u.call("DELETE", "/api/focus/pause"),
      ]);
      // No 409: a deadlock would be one (rolled back, "try again"), and so would a start that lost a race.
      for (const r of results) expect([200, 400, 404], JSON.stringify(r.body)).toContain(r.status);
      const [state] = await sql<{ live: number; stale: number }>(
        `SELECT (SELECT count(*)::int FROM focus_sessions WHERE user_id = $1 AND status IN ('active', 'paused')) AS live,
                (SELECT count(*)::int FROM focus_pause_state p WHERE p.user_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM focus_sessions f WHERE f.id = p.session_id AND f.status = 'paused')) AS stale`,
        [u.id],
      );
      expect(state).toEqual({ live: expect.any(Number), stale: 0 });
      expect(state!.live).toBeLessThanOrEqual(1);
      const paused = (await u.ok("GET", "/api/focus/active")).pause_state;
      if (paused) expect((await u.call("DELETE", "/api/focus/pause")).status).toBe(200); // a pause it reports can be resumed
    }
    await expectLedgerInvariant(u);
  });

  it("abandons without reward", async () => {
    const s = await u.ok("POST", "/api/focus");
    const a = await u.ok("POST", `/api/focus/${s.id}/abandon`);
    expect(a).toMatchObject({ id: s.id, status: "abandoned", xp_awarded: 0 });
    expect(a.abandoned_at).toMatch(RFC3339_UTC);
    expect((await wallet(u)).coins).toBe(0);
  });

  it("answers 404 for unknown ids, malformed ids and other users' sessions", async () => {
    const other = await newUser();
    const theirs = await other.ok("POST", "/api/focus");
    for (const path of [`/api/focus/${theirs.id}/complete`, "/api/focus/00000000-0000-4000-8000-000000000000/complete", "/api/focus/42/abandon"]) {
      const r = await u.send(path);
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ error: "not_found", message: "Session not found" });
    }
    expect((await other.ok("GET", "/api/focus/active")).session.status).toBe("active");
  });

  it("pages the list and reports stats per period", async () => {
    const a = await u.ok("POST", "/api/focus", { duration_seconds: 600 });
    await u.ok("POST", `/api/focus/${a.id}/complete`);
    const b = await u.ok("POST", "/api/focus", { mode: "break", duration_seconds: 300 });
    await u.ok("POST", `/api/focus/${b.id}/complete`);
    const c = await u.ok("POST", "/api/focus");
    await u.ok("POST", `/api/focus/${c.id}/abandon`);
    // An old completed session counts for "all" but not for "week".
    await sql(
      `INSERT INTO focus_sessions (user_id, duration_seconds, started_at, completed_at, status, xp_awarded, coins_awarded)
       VALUES ($1, 1200, now() - interval '40 days', now() - interval '40 days', 'completed', 20, 4)`,
      [u.id],
    );

    const page = await u.ok("GET", "/api/focus?page=2&page_size=2");
    expect(page).toMatchObject({ total: 4, page: 2, page_size: 2 });
    expect(page.sessions.map((s: { id: string }) => s.id)).toEqual([a.id, expect.any(String)]);

    expect(await u.ok("GET", "/api/focus?stats=true&period=week")).toEqual({
      completed_sessions: 2, abandoned_sessions: 1, total_focus_seconds: 900, total_xp_earned: 12, total_coins_earned: 2,
    });
    expect(await u.ok("GET", "/api/focus?stats=true")).toEqual({
      completed_sessions: 3, abandoned_sessions: 1, total_focus_seconds: 2100, total_xp_earned: 32, total_coins_earned: 6,
    });
  });
});
