// Day streaks (spec §3.0 update_streak): one rule for the daily_activity, focus and habit streaks,
// habit streaks and repeatable-quest streaks. Dates are the user's local YYYY-MM-DD.
import { addDays } from "./today";

export const STREAK_TYPES = ["daily_activity", "focus", "habit"] as const;
export type StreakType = (typeof STREAK_TYPES)[number];

export interface Streak {
  current: number;
  longest: number;
  /** Last day that counted, or null when nothing ever did. */
  last: string | null;
}

export interface StreakStep {
  streak: Streak;
  /** Whether today counted for the first time (something to store). */
  isNewDay: boolean;
  /** Whether an earlier run ended because a day was missed. */
  broken: boolean;
}

/** Counts `today`: same day → unchanged; the day after `last` → +1; any later day → back to 1. */
export function advanceStreak(prev: Streak | null, today: string): StreakStep {
  if (prev === null || prev.last === null) {
    const current = 1;
    return { streak: { current, longest: Math.max(prev?.longest ?? 0, current), last: today }, isNewDay: true, broken: false };
  }
  // A date already counted (or a later one, after a timezone change moved "today" back) adds nothing.
  if (prev.last >= today) return { streak: prev, isNewDay: false, broken: false };
  const continues = prev.last === addDays(today, -1);
  const current = continues ? prev.current + 1 : 1;
  return { streak: { current, longest: Math.max(prev.longest, current), last: today }, isNewDay: true, broken: !continues };
}

/** The streak as of `today`: a run whose last day is before yesterday has ended, so it counts 0. */
export function liveStreak(streak: Streak, today: string): number {
  return streak.last !== null && streak.last >= addDays(today, -1) ? streak.current : 0;
}
