// Quest rules (spec §3.2): default rewards by difficulty, the state machine, the repeat streak.
import { advanceStreak } from "../gamification/streak";

export const QUEST_DIFFICULTIES = ["starter", "easy", "medium", "hard", "epic"] as const;
export type QuestDifficulty = (typeof QUEST_DIFFICULTIES)[number];
export const QUEST_STATUSES = ["available", "accepted", "completed", "abandoned", "expired"] as const;
export const REPEAT_FREQUENCIES = ["daily", "weekly", "monthly"] as const;
/** Quests one account may have open (available or accepted): the quest list is never paged. */
export const MAX_OPEN_QUESTS = 200;

const DEFAULT_REWARDS: Record<QuestDifficulty, { xp: number; coins: number }> = {
  starter: { xp: 10, coins: 5 },
  easy: { xp: 25, coins: 10 },
  medium: { xp: 50, coins: 25 },
  hard: { xp: 100, coins: 50 },
  epic: { xp: 250, coins: 100 },
};

export function defaultRewards(difficulty: QuestDifficulty): { xp: number; coins: number } {
  return DEFAULT_REWARDS[difficulty];
}

export const canAccept = (status: string) => status === "available";
export const canComplete = (status: string) => status === "available" || status === "accepted";
export const canAbandon = (status: string) => status !== "completed" && status !== "abandoned";

/** Repeatable quests keep a day streak (yesterday → +1, else 1); others always 0. */
export function questStreak(quest: { is_repeatable: boolean; streak_count: number; last_completed_date: string | null }, today: string): number {
  if (!quest.is_repeatable) return 0;
  const prev = { current: quest.streak_count, longest: quest.streak_count, last: quest.last_completed_date };
  return advanceStreak(prev, today).streak.current;
}
