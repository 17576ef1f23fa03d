// Habit rules (spec §3.3): 5 XP per completion, plus the streak itself on milestone days.
export const HABIT_FREQUENCIES = ["daily", "weekly", "custom"] as const;
export const HABIT_XP = 5;
/** Active habits one account may have (a list that is never paged, and habits cannot be deleted). */
export const MAX_ACTIVE_HABITS = 200;
export const STREAK_MILESTONES: readonly number[] = [7, 14, 30, 60, 100, 365];

export function habitReward(newStreak: number): { xp: number; streakBonus: boolean } {
  const streakBonus = STREAK_MILESTONES.includes(newStreak);
  return { xp: HABIT_XP + (streakBonus ? newStreak : 0), streakBonus };
}
