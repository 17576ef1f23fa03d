// Habit completion (spec §3.3): once per local day, streak, milestone bonus XP.
import type { Tx } from "../../db/sql";
import { AppError } from "../../http/errors";
import { awardPoints } from "../gamification/service";
import { advanceStreak } from "../gamification/streak";
import { localDate } from "../gamification/today";
import { lockHabit, logCompletion } from "./repo";
import { habitReward } from "./rules";
import { habitOf } from "./schema";

/** Completes a habit for the user's today; a second completion the same day changes nothing. */
export async function completeHabit(tx: Tx, userId: string, id: string, notes: string | null) {
  const locked = await lockHabit(tx, userId, id);
  if (!locked) throw new AppError("not_found", "Habit not found");
  const { habit } = locked;
  const today = localDate(locked.timezone);
  const step = advanceStreak({ current: habit.current_streak, longest: habit.longest_streak, last: habit.last_log_date }, today);
  const updated = step.isNewDay ? await logCompletion(tx, userId, id, today, notes, step.streak) : null;
  if (!updated) {
    return { habit: habitOf({ ...habit, last_log_date: today }, today), new_streak: habit.current_streak, xp_awarded: 0, streak_bonus: false };
  }
  const reward = habitReward(step.streak.current);
  await awardPoints(tx, userId, {
    eventType: "habit_complete",
    eventId: id,
    xp: reward.xp,
    reason: `Completed habit: ${habit.name}`,
    key: `habit_complete_${id}_${today}`,
    streaks: ["habit"],
    today,
  }, undefined, tx); // its writes take COMMIT with them
  return { habit: habitOf(updated, today), new_streak: step.streak.current, xp_awarded: reward.xp, streak_bonus: reward.streakBonus };
}
