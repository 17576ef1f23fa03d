// Request and response shapes of /api/habits (spec §3.3).
import { z } from "zod";
import { optionalText, orDefault, requiredText } from "../../http/fields";
import { HABIT_FREQUENCIES } from "./rules";

export const createHabitBody = z.object({
  name: requiredText(200),
  description: optionalText(5000),
  frequency: orDefault(z.enum(HABIT_FREQUENCIES), "daily"),
  target_count: orDefault(z.number().int().min(1).max(100), 1),
  // Weekdays, as numbers 0–6 or names; stored as a JSON array.
  custom_days: z.array(z.union([z.number().int().min(0).max(6), requiredText(16)])).max(7).nullish(),
  icon: optionalText(100),
  color: optionalText(32),
});
export type CreateHabit = z.infer<typeof createHabitBody>;

export const completeHabitBody = z.object({ notes: optionalText(2000) });

/** A habit row plus the date of its latest log (for completed_today, which needs the user's today). */
export interface HabitRow {
  id: string;
  name: string;
  description: string | null;
  frequency: string;
  target_count: number;
  icon: string | null;
  color: string | null;
  is_active: boolean;
  current_streak: number;
  longest_streak: number;
  last_completed_at: string | null;
  sort_order: number;
  last_log_date: string | null;
}

export function habitOf(row: HabitRow, today: string) {
  const { last_log_date, ...habit } = row;
  // A log dated after today (the user moved to a timezone behind the one they logged in) counts as
  // today's, as completing does: one completion per day, whatever the timezone changes.
  return { ...habit, completed_today: last_log_date !== null && last_log_date >= today };
}
