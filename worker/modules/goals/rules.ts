// Goal rules (spec §3.4): progress comes from milestones; milestone XP; the completion bonus.
export const GOAL_STATUSES = ["active", "completed", "abandoned", "paused"] as const;
export const MILESTONE_XP = 10;
export const GOAL_COMPLETION_COINS = 20;
/** Goals one account may have open (active or paused): the goal list is never paged. */
export const MAX_OPEN_GOALS = 200;
/** Milestones one goal may have. */
export const MAX_MILESTONES = 100;

/** completed·100/total, integer division; a goal without milestones is at 0. */
export function goalProgress(completed: number, total: number): number {
  return total > 0 ? Math.floor((completed * 100) / total) : 0;
}
