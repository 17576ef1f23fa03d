// Habits through HTTP (spec §3.3): once per local day, streaks, milestone bonus XP.
import { beforeEach, describe, expect, it } from "vitest";
import { awayFromLocalMidnight } from "../support/clock";
import { expectLedgerInvariant, newUser, setTimezone, sql, type User } from "../support/economy";
import { connectClient } from "../support/database";
import { databaseUrl } from "../support/env";
import { waitUntilBlockedBy } from "../support/locks";
import { addDays, localDate } from "../../worker/modules/gamification/today";

describe("habits", () => {
  let u: User;
  // Each test dates its steps by the user's 'today': keep them all on one side of midnight.
  beforeEach(() => awayFromLocalMidnight([null, "Pacific/Kiritimati", "Etc/GMT+12"]));
  beforeEach(async () => {
    u = await newUser();
  });

  it("creates with defaults and lists active habits by sort order and name", async () => {
    const h = await u.ok("POST", "/api/habits", { name: "Walk", icon: "shoe", color: "#00aa00", custom_days: [1, "wed"] });
    expect(h).toMatchObject({
      name: "Walk", description: null, frequency: "daily", target_count: 1, icon: "shoe", color: "#00aa00", is_active: true,
      current_streak: 0, longest_streak: 0, last_completed_at: null, completed_today: false, sort_order: 0,
    });
    expect(h).not.toHaveProperty("last_log_date");
    const [{ custom_days }] = await sql("SELECT custom_days FROM habits WHERE id = $1", [h.id]);
    expect(JSON.parse(custom_days)).toEqual([1, "wed"]);
    await u.ok("POST", "/api/habits", { name: "Read", frequency: "weekly", target_count: 3 });
    await sql("INSERT INTO habits (user_id, name, is_active) VALUES ($1, 'Hidden', false)", [u.id]);
    const list = await u.ok("GET", "/api/habits");
    expect(list.habits.map((x: { name: string }) => x.name)).toEqual(["Read", "Walk"]);
  });

  it("caps active habits at 200 per account (409), counting only active ones", async () => {
    await sql("INSERT INTO habits (user_id, name) SELECT $1, 'h' || i FROM generate_series(1, 199) i", [u.id]);
    expect((await u.send("/api/habits", { name: "the 200th" })).status).toBe(200);
    const over = await u.send("/api/habits", { name: "one too many" });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ error: "conflict", message: "You already have 200 active habits, the most one account can have" });
    await sql("UPDATE habits SET is_active = false WHERE user_id = $1 AND name = 'h1'", [u.id]);
    expect((await u.send("/api/habits", { name: "room again" })).status).toBe(200);

    // Parallel creates cannot pass it together: with 5 places left, 5 of 20 get one. Holding the
    // user's row makes them overlap: each insert waits there (its foreign key check) after counting,
    // unless the creates take turns before counting.
    await sql("UPDATE habits SET is_active = false WHERE user_id = $1 AND name IN ('h2', 'h3', 'h4', 'h5', 'h6')", [u.id]);
    const holder = await connectClient(databaseUrl());
    let burst: Awaited<ReturnType<typeof u.send>>[];
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [u.id]);
      const sent = Promise.all(Array.from({ length: 20 }, (_, i) => u.send("/api/habits", { name: `burst ${i}` })));
      // Backends waiting on the holder, directly (an insert's key check) or through one that does
      // (the user's lock): the creates of this test, whatever other files are doing.
      const holderPid = (await holder.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
      // More than the 5 places: had the creates counted before taking turns, 6 would get one.
      await waitUntilBlockedBy(holderPid, { atLeast: 6, indirect: true });
      await holder.query("COMMIT");
      burst = await sent;
    } finally {
      await holder.end();
    }
    expect(burst.filter((r) => r.status === 200)).toHaveLength(5);
    expect(burst.filter((r) => r.status === 409)).toHaveLength(15);
    expect(await sql("SELECT count(*)::int AS n FROM habits WHERE user_id = $1 AND is_active", [u.id])).toEqual([{ n: 200 }]);
  });

  it("validates fields (422 per field)", async () => {
    const r = await u.send("/api/habits", { name: "", frequency: "hourly", target_count: 0, custom_days: [9], color: "x".repeat(40) });
    expect(r.status).toBe(422);
    expect(r.body.details.map((d: { field: string }) => d.field).sort()).toEqual(["color", "custom_days.0", "frequency", "name", "target_count"]);
    const notes = await u.send(`/api/habits/00000000-0000-4000-8000-000000000000/complete`, { notes: 5 });
    expect(notes.status).toBe(422);
  });

  it("completes once per day: 5 XP and streak 1, then a no-op the same day", async () => {
    const h = await u.ok("POST", "/api/habits", { name: "Stretch" });
    const first = await u.ok("POST", `/api/habits/${h.id}/complete`, { notes: "felt good" });
    expect(first).toMatchObject({ new_streak: 1, xp_awarded: 5, streak_bonus: false });
    expect(first.habit).toMatchObject({ id: h.id, current_streak: 1, longest_streak: 1, completed_today: true });
    expect(first.habit.last_completed_at).toMatch(/Z$/);

    // No body at all is fine too; the second completion today changes nothing.
    const second = await u.ok("POST", `/api/habits/${h.id}/complete`);
    expect(second).toMatchObject({ new_streak: 1, xp_awarded: 0, streak_bonus: false });
    expect(second.habit.completed_today).toBe(true);
    const logs = await sql("SELECT notes FROM habit_logs WHERE habit_id = $1", [h.id]);
    expect(logs).toEqual([{ notes: "felt good" }]);
    const ledger = await sql<{ xp: number; key: string }>("SELECT xp, idempotency_key AS key FROM points_ledger WHERE user_id = $1 AND event_type = 'habit_complete'", [u.id]);
    expect(ledger).toEqual([{ xp: 5, key: `habit_complete_${h.id}_${localDate(null)}` }]);
    expect((await u.ok("GET", "/api/habits")).habits[0].completed_today).toBe(true);
    // Habits pay XP only: the "Habit Former" achievement adds its own 5 coins.
    expect((await u.ok("GET", "/api/market/wallet")).coins).toBe(5);
    await expectLedgerInvariant(u);
  });

  it("continues the streak from yesterday and pays the milestone bonus on day 7", async () => {
    const h = await u.ok("POST", "/api/habits", { name: "Meditate" });
    const yesterday = addDays(localDate(null), -1);
    await sql("INSERT INTO habit_logs (habit_id, user_id, completed_date) VALUES ($1, $2, $3)", [h.id, u.id, yesterday]);
    await sql("UPDATE habits SET current_streak = 6, longest_streak = 6 WHERE id = $1", [h.id]);
    const done = await u.ok("POST", `/api/habits/${h.id}/complete`);
    expect(done).toMatchObject({ new_streak: 7, xp_awarded: 12, streak_bonus: true });
    expect(done.habit).toMatchObject({ current_streak: 7, longest_streak: 7 });
  });

  it("restarts at 1 after a missed day, keeping the longest streak", async () => {
    const h = await u.ok("POST", "/api/habits", { name: "Run" });
    await sql("INSERT INTO habit_logs (habit_id, user_id, completed_date) VALUES ($1, $2, $3)", [h.id, u.id, addDays(localDate(null), -2)]);
    await sql("UPDATE habits SET current_streak = 20, longest_streak = 30 WHERE id = $1", [h.id]);
    const done = await u.ok("POST", `/api/habits/${h.id}/complete`);
    expect(done).toMatchObject({ new_streak: 1, xp_awarded: 5, streak_bonus: false });
    expect(done.habit).toMatchObject({ current_streak: 1, longest_streak: 30 });
  });

  it("'today' is the user's local date: two users 26 hours apart log different dates", async () => {
    const east = u;
    const west = await newUser();
    await setTimezone(east, "Pacific/Kiritimati"); // UTC+14
    await setTimezone(west, "Etc/GMT+12"); // UTC−12
    const he = await east.ok("POST", "/api/habits", { name: "East" });
    const hw = await west.ok("POST", "/api/habits", { name: "West" });
    await east.ok("POST", `/api/habits/${he.id}/complete`);
    await west.ok("POST", `/api/habits/${hw.id}/complete`);
    const dates = await sql<{ name: string; d: string }>(
      "SELECT h.name, l.completed_date::text AS d FROM habit_logs l JOIN habits h ON h.id = l.habit_id WHERE h.id IN ($1, $2) ORDER BY h.name",
      [he.id, hw.id],
    );
    expect(dates).toEqual([{ name: "East", d: localDate("Pacific/Kiritimati") }, { name: "West", d: localDate("Etc/GMT+12") }]);
    expect(dates[0]!.d).not.toBe(dates[1]!.d);
    // Their daily_activity streaks are dated the same way.
    const [streak] = await sql<{ d: string }>("SELECT last_activity_date::text AS d FROM user_streaks WHERE user_id = $1 AND streak_type = 'habit'", [east.id]);
    expect(streak!.d).toBe(localDate("Pacific/Kiritimati"));
  });

  it("after a move to a timezone behind, a habit logged 'tomorrow' is done today in both answers, paying once", async () => {
    await setTimezone(u, "Pacific/Kiritimati"); // UTC+14
    const h = await u.ok("POST", "/api/habits", { name: "Traveller" });
    await u.ok("POST", `/api/habits/${h.id}/complete`);
    await setTimezone(u, "Etc/GMT+12"); // UTC−12: today is a day or two earlier
    const again = await u.ok("POST", `/api/habits/${h.id}/complete`);
    expect(again).toMatchObject({ xp_awarded: 0, habit: { completed_today: true } });
    const listed = (await u.ok("GET", "/api/habits")).habits.find((x: { id: string }) => x.id === h.id);
    expect(listed.completed_today).toBe(true);
    const [logs] = await sql<{ n: number }>("SELECT count(*)::int AS n FROM habit_logs WHERE habit_id = $1", [h.id]);
    expect(logs!.n).toBe(1);
  });

  it("an unknown timezone falls back to UTC", async () => {
    await setTimezone(u, "Mars/Olympus_Mons");
    const h = await u.ok("POST", "/api/habits", { name: "Fallback" });
    await u.ok("POST", `/api/habits/${h.id}/complete`);
    const [log] = await sql<{ d: string }>("SELECT completed_date::text AS d FROM habit_logs WHERE habit_id = $1", [h.id]);
    expect(log!.d).toBe(localDate(null));
  });

  it("answers 404 for unknown, malformed and other users' habits", async () => {
    const other = await newUser();
    const theirs = await other.ok("POST", "/api/habits", { name: "Theirs" });
    for (const id of [theirs.id, "00000000-0000-4000-8000-000000000000", "xyz"]) {
      const r = await u.send(`/api/habits/${id}/complete`);
      expect(r.status).toBe(404);
      expect(r.body.message).toBe("Habit not found");
    }
    const [{ n }] = await sql<{ n: number }>("SELECT count(*)::int AS n FROM habit_logs WHERE habit_id = $1", [theirs.id]);
    expect(n).toBe(0);
  });
});
