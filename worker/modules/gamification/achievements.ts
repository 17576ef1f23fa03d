// Achievement triggers (spec §3.16 teaser, §3.0): how far a user is towards one definition.
// The same rule decides unlocking (after every award) and what the teaser shows.

export interface AchievementTrigger {
  key: string;
  trigger_type: string;
  trigger_config: Record<string, unknown> | null;
}

export interface AchievementFacts {
  /** How many ledger rows of this event type the user has. */
  events(eventType: string): number;
  /** The user's longest live streak today (max over streak types). */
  currentStreak: number;
  level: number;
}

export interface AchievementProgress {
  progress: number;
  max: number;
  label: string;
}

const COUNT_NOUN: Record<string, string> = {
  focus_complete: "focus sessions",
  quest_complete: "quests",
  habit_complete: "habits",
};
const FIRST_ACTION: Record<string, string> = {
  focus_complete: "Complete a focus session",
  quest_complete: "Complete a quest",
  habit_complete: "Complete a habit",
};

function positiveInt(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : null;
}

/** Progress towards one achievement, or null for a trigger type or config this engine cannot read. */
export function achievementProgress(def: AchievementTrigger, facts: AchievementFacts): AchievementProgress | null {
  const config = def.trigger_config ?? {};
  const eventType = typeof config.event_type === "string" ? config.event_type : null;
  switch (def.trigger_type) {
    case "count": {
      const max = positiveInt(config.count);
      if (max === null || eventType === null) return null;
      const progress = Math.min(facts.events(eventType), max);
      const noun = COUNT_NOUN[eventType];
      return { progress, max, label: noun ? `${progress}/${max} ${noun}` : `${progress}/${max}` };
    }
    case "streak": {
      const max = positiveInt(config.days);
      if (max === null) return null;
      const progress = Math.min(facts.currentStreak, max);
      return { progress, max, label: `${progress}/${max} day streak` };
    }
    case "milestone": {
      const max = positiveInt(config.level);
      if (max === null) return null;
      const progress = Math.min(facts.level, max);
      return { progress, max, label: `Level ${progress}/${max}` };
    }
    case "first": {
      if (eventType === null) return null;
      const progress = facts.events(eventType) > 0 ? 1 : 0;
      return { progress, max: 1, label: progress === 1 ? "Complete!" : (FIRST_ACTION[eventType] ?? "Complete the action") };
    }
    default:
      return null;
  }
}

export function isEarned(p: AchievementProgress | null): boolean {
  return p !== null && p.progress >= p.max;
}
