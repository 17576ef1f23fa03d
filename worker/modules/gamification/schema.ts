// Response shapes of /api/gamification (spec §3.16).
import { achievementProgress, type AchievementProgress } from "./achievements";
import { progressPercent } from "./level";
import type { AchievementDefinitionRow, ProgressSnapshot } from "./repo";
import { liveStreak } from "./streak";
import { localDate } from "./today";

export interface Summary {
  total_xp: number;
  current_level: number;
  xp_to_next_level: number;
  xp_progress_percent: number;
  coins: number;
  total_skill_stars: number;
  achievement_count: number;
  current_streak: number;
  longest_streak: number;
}

/** current_streak is the best streak still alive today (a run that missed yesterday counts 0). */
export function summaryOf(p: ProgressSnapshot, now = new Date()): Summary {
  const today = localDate(p.timezone, now);
  return {
    total_xp: p.xp,
    current_level: p.level,
    xp_to_next_level: p.to_next,
    xp_progress_percent: progressPercent(p.xp, p.to_next),
    coins: p.coins,
    total_skill_stars: p.stars,
    achievement_count: p.achievements,
    current_streak: Math.max(0, ...p.streaks.map((s) => liveStreak(s, today))),
    longest_streak: Math.max(0, ...p.streaks.map((s) => s.longest)),
  };
}

export interface Teaser {
  achievement: Omit<AchievementDefinitionRow, "events">;
  progress: number;
  progress_max: number;
  progress_label: string;
}

/** The first definition (in the given order) the user is still working towards, or null. */
export function teaserOf(defs: AchievementDefinitionRow[], summary: Summary): Teaser | null {
  for (const def of defs) {
    const p: AchievementProgress | null = achievementProgress(def, {
      events: () => def.events,
      currentStreak: summary.current_streak,
      level: summary.current_level,
    });
    if (p === null || p.progress >= p.max) continue;
    const { events: _events, ...achievement } = def;
    return { achievement, progress: p.progress, progress_max: p.max, progress_label: p.label };
  }
  return null;
}
