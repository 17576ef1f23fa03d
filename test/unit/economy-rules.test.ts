// The economy's pure rules: level curve, streak math, "today" per timezone, achievement progress,
// reward formulas, and the market's redeem arithmetic.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { focusReward, secondsRemaining } from "../../worker/modules/focus/rules";
import { achievementProgress } from "../../worker/modules/gamification/achievements";
import { addXp, progressPercent, skillLevel, xpForLevel } from "../../worker/modules/gamification/level";
import { advanceStreak, liveStreak } from "../../worker/modules/gamification/streak";
import { addDays, localDate } from "../../worker/modules/gamification/today";
import { goalProgress } from "../../worker/modules/goals/rules";
import { habitReward } from "../../worker/modules/habits/rules";
import { redeemOnce, usesBought } from "../../worker/modules/market/rules";
import { canAbandon, canAccept, canComplete, defaultRewards, questStreak } from "../../worker/modules/quests/rules";

describe("level curve", () => {
  it("needs floor(100·L^1.5) XP per level", () => {
    expect([1, 2, 3, 4, 5, 9, 16, 100].map(xpForLevel)).toEqual([100, 282, 519, 800, 1118, 2700, 6400, 100000]);
  });

  it("carries the remainder over level-ups", () => {
    expect(addXp({ level: 1, xp: 0 }, 150)).toEqual({ level: 2, xp: 50, toNext: 282, leveledUp: true });
    expect(addXp({ level: 1, xp: 30 }, 40)).toEqual({ level: 1, xp: 70, toNext: 100, leveledUp: false });
    expect(addXp({ level: 1, xp: 0 }, 1000)).toEqual({ level: 4, xp: 99, toNext: 800, leveledUp: true });
    expect(addXp({ level: 1, xp: 99 }, 1)).toMatchObject({ level: 2, xp: 0 });
  });

  it("refuses negative or fractional XP", () => {
    expect(() => addXp({ level: 1, xp: 0 }, -1)).toThrow(RangeError);
    expect(() => addXp({ level: 1, xp: 0 }, 1.5)).toThrow(RangeError);
  });

  it("adding XP in any split lands where the lifetime total does (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(5000), { maxLength: 20 }), (awards) => {
        let state = { level: 1, xp: 0 };
        for (const a of awards) {
          const { level, xp } = addXp(state, a);
          state = { level, xp };
        }
        const total = awards.reduce((s, a) => s + a, 0);
        // Independently of addXp: the thresholds of the levels passed plus the XP inside this one.
        let passed = 0;
        for (let l = 1; l < state.level; l++) passed += xpForLevel(l);
        expect(passed + state.xp).toBe(total);
        expect(state.xp).toBeLessThan(xpForLevel(state.level)); // not short of a level it has reached
        expect(state).toEqual((({ level, xp }) => ({ level, xp }))(addXp({ level: 1, xp: 0 }, total)));
      }),
    );
  });

  it("shows progress as trunc(xp/toNext·100); skills level per stars, capped", () => {
    expect(progressPercent(60, 282)).toBe(21);
    expect(progressPercent(99, 100)).toBe(99);
    expect(progressPercent(0, 100)).toBe(0);
    expect([0, 9, 10, 25, 500].map((s) => skillLevel(s, 10, 3))).toEqual([0, 0, 1, 2, 3]);
  });
});

describe("streaks", () => {
  const day = "2026-03-01";
  it("starts at 1, ignores the same day, continues from yesterday, restarts after a gap", () => {
    expect(advanceStreak(null, day)).toEqual({ streak: { current: 1, longest: 1, last: day }, isNewDay: true, broken: false });
    const s = { current: 4, longest: 9, last: day };
    expect(advanceStreak(s, day)).toEqual({ streak: s, isNewDay: false, broken: false });
    expect(advanceStreak(s, "2026-03-02")).toEqual({ streak: { current: 5, longest: 9, last: "2026-03-02" }, isNewDay: true, broken: false });
    expect(advanceStreak({ current: 9, longest: 9, last: day }, "2026-03-02").streak.longest).toBe(10);
    expect(advanceStreak(s, "2026-03-03")).toEqual({ streak: { current: 1, longest: 9, last: "2026-03-03" }, isNewDay: true, broken: true });
  });

  it("crosses month and year ends, and leap days", () => {
    expect(advanceStreak({ current: 1, longest: 1, last: "2025-12-31" }, "2026-01-01").streak.current).toBe(2);
    expect(advanceStreak({ current: 1, longest: 1, last: "2028-02-28" }, "2028-02-29").streak.current).toBe(2);
    expect(advanceStreak({ current: 1, longest: 1, last: "2027-02-28" }, "2027-03-01").streak.current).toBe(2);
  });

  it("a date already counted, or later (timezone moved back), adds nothing", () => {
    const s = { current: 3, longest: 3, last: "2026-03-02" };
    expect(advanceStreak(s, "2026-03-01")).toEqual({ streak: s, isNewDay: false, broken: false });
  });

  it("is alive through yesterday only", () => {
    const s = { current: 5, longest: 8, last: "2026-03-01" };
    expect(liveStreak(s, "2026-03-01")).toBe(5);
    expect(liveStreak(s, "2026-03-02")).toBe(5);
    expect(liveStreak(s, "2026-03-03")).toBe(0);
    expect(liveStreak({ current: 0, longest: 0, last: null }, "2026-03-03")).toBe(0);
  });
});

describe("today per timezone", () => {
  const at = new Date("2026-03-01T20:30:00Z");
  it("is the local calendar date of the user's zone, UTC without one or with an unknown one", () => {
    expect(localDate(null, at)).toBe("2026-03-01");
    expect(localDate("UTC", at)).toBe("2026-03-01");
    expect(localDate("Pacific/Kiritimati", at)).toBe("2026-03-02"); // UTC+14
    expect(localDate("America/Los_Angeles", at)).toBe("2026-03-01");
    expect(localDate("America/Los_Angeles", new Date("2026-03-02T07:59:00Z"))).toBe("2026-03-01");
    expect(localDate("Asia/Tokyo", new Date("2026-12-31T15:00:00Z"))).toBe("2027-01-01");
    expect(localDate("Not/AZone", at)).toBe("2026-03-01");
    expect(localDate("Not/AZone", new Date("2026-03-02T07:59:00Z"))).toBe("2026-03-02"); // remembered as unknown, still UTC
    // Many more names than the cache keeps (1000): still the right answers.
    for (let i = 0; i < 1100; i++) expect(localDate(`Nowhere/Zone${i}`, at)).toBe("2026-03-01");
    expect(localDate("Pacific/Kiritimati", at)).toBe("2026-03-02");
  });

  it("follows daylight saving time", () => {
    // Berlin is UTC+1 in winter, UTC+2 in summer: 22:30 UTC is the next day only in summer.
    expect(localDate("Europe/Berlin", new Date("2026-01-15T22:30:00Z"))).toBe("2026-01-15");
    expect(localDate("Europe/Berlin", new Date("2026-07-15T22:30:00Z"))).toBe("2026-07-16");
  });

  it("adds calendar days", () => {
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(() => addDays("yesterday", 1)).toThrow(RangeError);
  });
});

describe("achievement progress", () => {
  const facts = { events: (t: string) => ({ focus_complete: 3, quest_complete: 0 })[t] ?? 0, currentStreak: 4, level: 6 };
  const p = (trigger_type: string, trigger_config: Record<string, unknown> | null) => achievementProgress({ key: "k", trigger_type, trigger_config }, facts);

  it("reads count, streak, milestone and first triggers with the teaser's labels", () => {
    expect(p("count", { event_type: "focus_complete", count: 10 })).toEqual({ progress: 3, max: 10, label: "3/10 focus sessions" });
    expect(p("count", { event_type: "quest_complete", count: 5 })).toEqual({ progress: 0, max: 5, label: "0/5 quests" });
    expect(p("count", { event_type: "other", count: 2 })).toEqual({ progress: 0, max: 2, label: "0/2" });
    expect(p("count", { event_type: "focus_complete", count: 2 })).toEqual({ progress: 2, max: 2, label: "2/2 focus sessions" });
    expect(p("streak", { days: 7 })).toEqual({ progress: 4, max: 7, label: "4/7 day streak" });
    expect(p("milestone", { level: 5 })).toEqual({ progress: 5, max: 5, label: "Level 5/5" });
    expect(p("first", { event_type: "focus_complete" })).toEqual({ progress: 1, max: 1, label: "Complete!" });
    expect(p("first", { event_type: "quest_complete" })).toEqual({ progress: 0, max: 1, label: "Complete a quest" });
    expect(p("first", { event_type: "something" })).toEqual({ progress: 0, max: 1, label: "Complete the action" });
  });

  it("returns null for unknown trigger types and unusable configs", () => {
    expect(p("mystery", {})).toBeNull();
    expect(p("count", { event_type: "focus_complete" })).toBeNull();
    expect(p("count", { event_type: "focus_complete", count: 0 })).toBeNull();
    expect(p("streak", { days: "7" })).toBeNull();
    expect(p("first", null)).toBeNull();
  });
});

describe("reward formulas", () => {
  it("focus: max(5, s/60) XP and max(2, s/300) coins; breaks fixed", () => {
    expect(focusReward("focus", 1500)).toEqual({ xp: 25, coins: 5 });
    expect(focusReward("focus", 60)).toEqual({ xp: 5, coins: 2 });
    expect(focusReward("focus", 3599)).toEqual({ xp: 59, coins: 11 });
    expect(focusReward("break", 3600)).toEqual({ xp: 2, coins: 0 });
    expect(focusReward("long_break", 3600)).toEqual({ xp: 3, coins: 1 });
  });

  it("focus time left: counts down while active, stands still while paused", () => {
    const now = Date.parse("2026-03-01T10:00:00Z");
    const base = { duration_seconds: 1500, paused_remaining_seconds: null };
    expect(secondsRemaining({ ...base, status: "active", expires_at: "2026-03-01T10:10:00.500Z" }, now)).toBe(601);
    expect(secondsRemaining({ ...base, status: "active", expires_at: "2026-03-01T09:00:00Z" }, now)).toBe(0);
    expect(secondsRemaining({ ...base, status: "paused", expires_at: "2026-03-01T09:00:00Z", paused_remaining_seconds: 42 }, now)).toBe(42);
    expect(secondsRemaining({ ...base, status: "active", expires_at: null }, now)).toBe(1500);
  });

  it("quests: defaults by difficulty, state machine, repeat streak", () => {
    expect(["starter", "easy", "medium", "hard", "epic"].map((d) => defaultRewards(d as "easy"))).toEqual([
      { xp: 10, coins: 5 }, { xp: 25, coins: 10 }, { xp: 50, coins: 25 }, { xp: 100, coins: 50 }, { xp: 250, coins: 100 },
    ]);
    expect(["available", "accepted", "completed", "abandoned", "expired"].map((s) => [canAccept(s), canComplete(s), canAbandon(s)])).toEqual([
      [true, true, true], [false, true, true], [false, false, false], [false, false, false], [false, false, true],
    ]);
    expect(questStreak({ is_repeatable: false, streak_count: 3, last_completed_date: "2026-02-28" }, "2026-03-01")).toBe(0);
    expect(questStreak({ is_repeatable: true, streak_count: 3, last_completed_date: "2026-02-28" }, "2026-03-01")).toBe(4);
    expect(questStreak({ is_repeatable: true, streak_count: 3, last_completed_date: "2026-02-20" }, "2026-03-01")).toBe(1);
    expect(questStreak({ is_repeatable: true, streak_count: 0, last_completed_date: null }, "2026-03-01")).toBe(1);
  });

  it("habits: 5 XP, plus the streak on milestone days", () => {
    expect([1, 6, 7, 8, 14, 30, 60, 100, 365, 366].map((s) => habitReward(s))).toEqual([
      { xp: 5, streakBonus: false }, { xp: 5, streakBonus: false }, { xp: 12, streakBonus: true }, { xp: 5, streakBonus: false },
      { xp: 19, streakBonus: true }, { xp: 35, streakBonus: true }, { xp: 65, streakBonus: true }, { xp: 105, streakBonus: true },
      { xp: 370, streakBonus: true }, { xp: 5, streakBonus: false },
    ]);
  });

  it("goals: completed·100/total with integer division", () => {
    expect([[0, 0], [1, 3], [2, 3], [3, 3], [1, 4], [0, 5]].map(([c, t]) => goalProgress(c!, t!))).toEqual([0, 33, 66, 100, 25, 0]);
  });

  it("market: uses bought and one redeem", () => {
    expect(usesBought({ is_consumable: true, uses_per_purchase: 3 }, 2)).toBe(6);
    expect(usesBought({ is_consumable: true, uses_per_purchase: null }, 2)).toBeNull();
    expect(usesBought({ is_consumable: false, uses_per_purchase: 3 }, 2)).toBeNull();
    expect(redeemOnce(3)).toEqual({ usesRemaining: 2, fullyRedeemed: false });
    expect(redeemOnce(1)).toEqual({ usesRemaining: 0, fullyRedeemed: true });
    expect(redeemOnce(null)).toEqual({ usesRemaining: null, fullyRedeemed: true });
  });
});
