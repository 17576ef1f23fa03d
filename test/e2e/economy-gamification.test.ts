// The gamification engine through HTTP (spec §3.0, §3.16): level curve, summary, streaks,
// achievements with their rewards, the teaser; and skill stars at the engine's own seam.
import { randomBytes, randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "../../worker/db/sql";
import { lockAwardState } from "../../worker/modules/gamification/repo";
import { awardPoints } from "../../worker/modules/gamification/service";
import { addDays, localDate } from "../../worker/modules/gamification/today";
import { awayFromLocalMidnight } from "../support/clock";
import { completeQuest, expectLedgerInvariant, newUser, sql, wallet } from "../support/economy";
import { connectClient } from "../support/database";
import { databaseUrl } from "../support/env";
import { waitUntilBlockedBy } from "../support/locks";

const tag = randomBytes(3).toString("hex");
const earned = async (userId: string) =>
  (await sql<{ k: string }>("SELECT achievement_key AS k FROM user_achievements WHERE user_id = $1 ORDER BY k", [userId])).map((r) => r.k);

describe("summary and level curve", () => {
  it("a new user starts at level 1 with nothing", async () => {
    const u = await newUser();
    expect(await u.ok("GET", "/api/gamification/summary")).toEqual({
      total_xp: 0, current_level: 1, xp_to_next_level: 100, xp_progress_percent: 0, coins: 0,
      total_skill_stars: 0, achievement_count: 0, current_streak: 0, longest_streak: 0,
    });
  });

  it("150 XP from a fresh user gives level 2; coins are credited; the daily streak starts", async () => {
    const u = await newUser();
    const done = await completeQuest(u, { xp: 150, coins: 50 });
    expect(done).toMatchObject({ xp_awarded: 150, coins_awarded: 50, leveled_up: true, new_level: 2 });
    // 150 − 100 = 50 in level 2, plus 10 XP and 5 coins for "Quest Starter".
    expect(await u.ok("GET", "/api/gamification/summary")).toEqual({
      total_xp: 60, current_level: 2, xp_to_next_level: 282, xp_progress_percent: 21, coins: 55,
      total_skill_stars: 0, achievement_count: 1, current_streak: 1, longest_streak: 1,
    });
    await expectLedgerInvariant(u);
  });

  it("carries XP over several levels; reaching level 5 unlocks 'Rising Star' and pays it", async () => {
    const u = await newUser();
    // 1000 XP: 100 + 282 + 519 = 901 → level 4 with 99; +10 (Quest Starter) = 109.
    expect(await completeQuest(u, { xp: 1000 })).toMatchObject({ leveled_up: true, new_level: 4 });
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ current_level: 4, total_xp: 109, xp_to_next_level: 800 });
    expect(await completeQuest(u, { xp: 691 })).toMatchObject({ leveled_up: true, new_level: 5 });
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ current_level: 5, total_xp: 0, xp_to_next_level: 1118, coins: 55 });
    expect(await earned(u.id)).toEqual(["first_quest", "level_5"]);
    await expectLedgerInvariant(u);
  });

  it("an achievement's reward can unlock another: First Focus's 10 XP reaches level 5, which unlocks 'Rising Star'", async () => {
    const u = await newUser();
    await completeQuest(u, { xp: 1000 }); // level 4 with 109 (Quest Starter included)
    await completeQuest(u, { xp: 671 }); // 780 of the 800 level 4 needs
    const s = await u.ok("POST", "/api/focus", { duration_seconds: 600 });
    // The session's 10 XP → 790; First Focus pays 10 → 800 = level 5; Rising Star pays 50 coins.
    expect(await u.ok("POST", `/api/focus/${s.id}/complete`)).toMatchObject({ xp_awarded: 10, leveled_up: true, new_level: 5 });
    expect(await earned(u.id)).toEqual(["first_focus", "first_quest", "level_5"]);
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ current_level: 5, total_xp: 0, coins: 2 + 5 + 5 + 50 });
    await expectLedgerInvariant(u);
  });
});

describe("concurrent awards", () => {
  it("parallel first awards of a brand-new user lose nothing (progress row created once, then locked)", async () => {
    const u = await newUser();
    const quests = [];
    for (let i = 0; i < 6; i++) quests.push(await u.ok("POST", "/api/quests", { title: `q${i}`, category: "x", xp_reward: 30, coin_reward: 3 }));
    const results = await Promise.all(quests.map((q) => u.send(`/api/quests/${q.id}/complete`)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    // 6 × 30 XP + 10 (Quest Starter) = 190 → level 2 with 90; 6 × 3 + 5 coins.
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ current_level: 2, total_xp: 90, coins: 23 });
    expect(results.filter((r) => r.body.data.leveled_up)).toHaveLength(1);
    await expectLedgerInvariant(u);
  });
});

describe("streaks", () => {
  it("continues yesterday's daily streak, and day 7 unlocks 'Week Warrior' with its reward", async () => {
    const u = await newUser();
    // "Yesterday", "today" and "the same day" below must all be one UTC day apart from the setup.
    await awayFromLocalMidnight([null], 10_000);
    const yesterday = addDays(localDate(null), -1);
    await sql("INSERT INTO user_streaks (user_id, streak_type, current_streak, longest_streak, last_activity_date) VALUES ($1, 'daily_activity', 6, 6, $2)", [u.id, yesterday]);
    await completeQuest(u, { coins: 1 });
    const [row] = await sql("SELECT current_streak, longest_streak, last_activity_date::text AS d FROM user_streaks WHERE user_id = $1 AND streak_type = 'daily_activity'", [u.id]);
    expect(row).toEqual({ current_streak: 7, longest_streak: 7, d: localDate(null) });
    expect(await earned(u.id)).toEqual(["first_quest", "streak_7"]);
    expect((await wallet(u)).coins).toBe(1 + 5 + 50);
    // A second award the same day leaves the streak alone.
    await completeQuest(u, {});
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ current_streak: 7, longest_streak: 7 });
    await expectLedgerInvariant(u);
  });

  it("a streak whose last day is before yesterday shows as 0, keeping the longest", async () => {
    const u = await newUser();
    await sql("INSERT INTO user_streaks (user_id, streak_type, current_streak, longest_streak, last_activity_date) VALUES ($1, 'focus', 10, 12, $2)", [u.id, addDays(localDate(null), -3)]);
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ current_streak: 0, longest_streak: 12 });
    // The next focus session starts a new run of 1.
    const s = await u.ok("POST", "/api/focus");
    await u.ok("POST", `/api/focus/${s.id}/complete`);
    const [row] = await sql("SELECT current_streak, longest_streak FROM user_streaks WHERE user_id = $1 AND streak_type = 'focus'", [u.id]);
    expect(row).toEqual({ current_streak: 1, longest_streak: 12 });
  });
});

describe("achievements and the teaser", () => {
  // Two definitions the teaser must skip, cheapest first: one hidden, one with a trigger it cannot
  // read. Definitions are global (every award evaluates them), so they exist only while a test that
  // needs them runs, and are removed even when it fails.
  const testAchievements = [`hidden_${tag}`, `mystery_${tag}`];
  const removeTestAchievements = () => sql("DELETE FROM achievement_definitions WHERE key = ANY($1)", [testAchievements]);
  async function withTestAchievements(fn: () => Promise<void>): Promise<void> {
    await sql(
      `INSERT INTO achievement_definitions (key, name, category, trigger_type, trigger_config, reward_coins, is_hidden) VALUES
         ($1, 'Hidden', 'test', 'count', $3, 0, true), ($2, 'Mystery', 'test', 'mystery', NULL, 0, false)`,
      [...testAchievements, JSON.stringify({ event_type: `never_${tag}`, count: 1 })],
    );
    try {
      await fn();
    } finally {
      await removeTestAchievements();
    }
  }
  afterAll(async () => {
    await removeTestAchievements();
  });

  it("walks through the cheapest unearned visible achievements with their progress labels", () => withTestAchievements(async () => {
    const u = await newUser();
    const teaser = async () => (await u.get("/api/gamification/teaser")).body.teaser;
    const first = await teaser();
    expect(first).toMatchObject({ progress: 0, progress_max: 1, progress_label: "Complete a focus session" });
    expect(first.achievement).toMatchObject({
      key: "first_focus", name: "First Focus", category: "focus", trigger_type: "first", trigger_config: { event_type: "focus_complete" },
      reward_coins: 5, reward_xp: 10, is_hidden: false, sort_order: 10,
    });
    expect(first.achievement.created_at).toMatch(/Z$/);
    expect(first.achievement).not.toHaveProperty("events");

    const s = await u.ok("POST", "/api/focus");
    await u.ok("POST", `/api/focus/${s.id}/complete`);
    expect((await teaser()).achievement.key).toBe("first_quest");
    await completeQuest(u, {});
    expect(await teaser()).toMatchObject({ achievement: { key: "first_habit" }, progress_label: "Complete a habit" });
    const h = await u.ok("POST", "/api/habits", { name: "h" });
    await u.ok("POST", `/api/habits/${h.id}/complete`);
    expect(await teaser()).toMatchObject({ achievement: { key: "focus_10" }, progress: 1, progress_max: 10, progress_label: "1/10 focus sessions" });
    expect(await earned(u.id)).toEqual(["first_focus", "first_habit", "first_quest"]);
  }));

  it("a count trigger unlocks on the event that reaches it, paying its reward once", async () => {
    const u = await newUser();
    for (let i = 0; i < 9; i++) {
      await sql("INSERT INTO points_ledger (user_id, event_type, idempotency_key) VALUES ($1, 'focus_complete', $2)", [u.id, `seed-${randomUUID()}`]);
    }
    const s = await u.ok("POST", "/api/focus", { duration_seconds: 600 });
    await u.ok("POST", `/api/focus/${s.id}/complete`);
    expect(await earned(u.id)).toEqual(["first_focus", "focus_10"]);
    // 10 XP and 2 coins for the session, 10 + 5 (First Focus), 50 + 25 (Deep Worker).
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ total_xp: 70, coins: 32, achievement_count: 2 });
    const rewards = await sql("SELECT idempotency_key, xp, coins FROM points_ledger WHERE user_id = $1 AND event_type = 'achievement_unlocked' ORDER BY coins", [u.id]);
    expect(rewards).toEqual([
      { idempotency_key: `achievement_first_focus_${u.id}`, xp: 10, coins: 5 },
      { idempotency_key: `achievement_focus_10_${u.id}`, xp: 50, coins: 25 },
    ]);
  });

  it("returns null once nothing visible is left to work towards", () => withTestAchievements(async () => {
    const u = await newUser();
    await sql("INSERT INTO user_achievements (user_id, achievement_key) SELECT $1, key FROM achievement_definitions WHERE NOT is_hidden AND trigger_type <> 'mystery'", [u.id]);
    expect((await u.get("/api/gamification/teaser")).body).toEqual({ teaser: null });
  }));
});

describe("skill stars (engine seam, real PostgreSQL)", () => {
  const skill = `skill_${tag}`;
  let client: pg.Client;
  const tx: Sql = { query: async (text, params) => (await client.query(text, params as unknown[])).rows };

  beforeAll(async () => {
    client = await connectClient(databaseUrl());
    await sql("INSERT INTO skill_definitions (key, name, category, max_level, stars_per_level) VALUES ($1, 'Test skill', 'test', 2, 5)", [skill]);
  });
  afterAll(async () => {
    await client.end();
    // Cascades to user_skills; the ledger rows keep their stars with skill_key set to NULL.
    await sql("DELETE FROM skill_definitions WHERE key = $1", [skill]);
  });

  it("credits stars to the skill and the progress total, levels the skill (capped), never twice per key", async () => {
    const u = await newUser();
    await client.query("BEGIN");
    const first = await awardPoints(tx, u.id, { eventType: "lesson_complete", skillStars: 7, skillKey: skill, xp: 15, key: `lesson-a-${u.id}` });
    const again = await awardPoints(tx, u.id, { eventType: "lesson_complete", skillStars: 7, skillKey: skill, xp: 15, key: `lesson-a-${u.id}` });
    await awardPoints(tx, u.id, { eventType: "lesson_complete", skillStars: 9, skillKey: skill, key: `lesson-b-${u.id}` });
    await client.query("COMMIT");
    expect(first).toMatchObject({ alreadyAwarded: false, xp: 15, level: 1 });
    expect(again).toMatchObject({ alreadyAwarded: true, xp: 0, coins: 0 });
    const [s] = await sql("SELECT current_stars, current_level FROM user_skills WHERE user_id = $1 AND skill_key = $2", [u.id, skill]);
    expect(s).toEqual({ current_stars: 16, current_level: 2 });
    expect((await u.ok("GET", "/api/gamification/summary")).total_skill_stars).toBe(16);
    const ledger = await sql("SELECT skill_stars, skill_key FROM points_ledger WHERE user_id = $1 ORDER BY skill_stars", [u.id]);
    expect(ledger).toEqual([{ skill_stars: 7, skill_key: skill }, { skill_stars: 9, skill_key: skill }]);
  });

  it("two transactions creating a user's progress row at once: the second waits, then locks it", async () => {
    const u = await newUser();
    const other = await connectClient(databaseUrl());
    const otherTx: Sql = { query: async (text, params) => (await other.query(text, params as unknown[])).rows };
    const pidOf = async (c: pg.Client) => (await c.query<{ p: number }>("SELECT pg_backend_pid() AS p")).rows[0]!.p;
    const [firstPid, otherPid] = [await pidOf(client), await pidOf(other)];
    // From a third connection: whether someone else holds the row lock right now.
    const rowLocked = () =>
      sql("SELECT 1 FROM user_progress WHERE user_id = $1 FOR UPDATE NOWAIT", [u.id]).then(() => false, (err) => {
        if (err.code === "55P03") return true; // lock_not_available
        throw err;
      });
    try {
      await client.query("BEGIN");
      await other.query("BEGIN");
      expect(await lockAwardState(tx, u.id, "first-award")).toMatchObject({ level: 1, xp: 0 }); // inserts, holds the new row
      const second = lockAwardState(otherTx, u.id, "second-award"); // waits on that insert
      second.catch(() => {}); // awaited below; a failure before then must not also surface as unhandled
      // Really waiting on the first transaction (not merely sent), before that one commits.
      expect(await waitUntilBlockedBy(firstPid, { waiterPid: otherPid })).toEqual([otherPid]);
      await client.query("UPDATE user_progress SET total_xp = 42 WHERE user_id = $1", [u.id]);
      await client.query("COMMIT");
      expect(await second).toMatchObject({ level: 1, xp: 42 }); // saw the committed row...
      expect(await rowLocked()).toBe(true); // ...and holds it now
      await other.query("COMMIT");
      expect(await rowLocked()).toBe(false); // it was the second transaction's lock
    } finally {
      await client.query("ROLLBACK").catch(() => {}); // only does something when the test failed midway
      await other.end();
    }
    const [{ n }] = await sql<{ n: number }>("SELECT count(*)::int AS n FROM user_progress WHERE user_id = $1", [u.id]);
    expect(n).toBe(1);
  });

  it("refuses an unknown skill and negative amounts, changing nothing", async () => {
    const u = await newUser();
    await client.query("BEGIN");
    try {
      await expect(awardPoints(tx, u.id, { eventType: "x", skillStars: 1, skillKey: `nope_${tag}`, key: randomUUID() })).rejects.toThrow(/Unknown skill/);
      await expect(awardPoints(tx, u.id, { eventType: "x", coins: -5, key: randomUUID() })).rejects.toThrow(/non-negative/);
      // Checked inside the transaction, before it is rolled back: the refusals themselves wrote nothing.
      expect(await tx.query("SELECT 1 FROM points_ledger WHERE user_id = $1", [u.id])).toEqual([]);
      expect(await tx.query("SELECT 1 FROM user_wallet WHERE user_id = $1 AND coins <> 0", [u.id])).toEqual([]);
    } finally {
      await client.query("ROLLBACK");
    }
  });
});
