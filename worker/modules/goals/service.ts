// Goals and milestones (spec §3.4): progress from milestones, milestone XP, completion bonus.
import type { Sql } from "../../db/sql";
import { AppError } from "../../http/errors";
import { awardPoints } from "../gamification/service";
import { insertMilestone, lockGoal, lockGoalOfMilestone, markMilestoneCompleted, setGoalProgress, type LockedGoal } from "./repo";
import { GOAL_COMPLETION_COINS, goalProgress, MAX_MILESTONES, MILESTONE_XP } from "./rules";
import type { CreateMilestone } from "./schema";

/** The status that progress implies, for goals whose status follows their milestones. */
function statusFor(goal: LockedGoal, progress: number): string {
  if (progress === 100) return "completed";
  return goal.status === "completed" ? "active" : goal.status;
}

/** Adds a milestone; progress is recomputed, so a completed goal with a new open milestone is active again. */
export async function addMilestone(tx: Sql, userId: string, goalId: string, input: CreateMilestone) {
  const goal = await lockGoal(tx, userId, goalId);
  if (!goal) throw new AppError("not_found", "Goal not found");
  if (goal.total >= MAX_MILESTONES) {
    throw new AppError("conflict", `This goal already has ${MAX_MILESTONES} milestones, the most one goal can have`);
  }
  const milestone = await insertMilestone(tx, goalId, input);
  const progress = goalProgress(goal.completed, goal.total + 1);
  await setGoalProgress(tx, goalId, progress, statusFor(goal, progress));
  return milestone;
}

/** Completes a milestone: 10 XP once per milestone; 20 coins once per goal when it reaches 100 %. */
export async function completeMilestone(tx: Sql, userId: string, milestoneId: string) {
  const goal = await lockGoalOfMilestone(tx, userId, milestoneId);
  if (!goal) throw new AppError("not_found", "Milestone not found");
  const { milestone, was_completed } = await markMilestoneCompleted(tx, milestoneId);
  const progress = goalProgress(goal.completed + (was_completed ? 0 : 1), goal.total);
  const status = statusFor(goal, progress);
  await setGoalProgress(tx, goal.id, progress, status);

  await awardPoints(tx, userId, {
    eventType: "milestone_complete",
    eventId: milestoneId,
    xp: MILESTONE_XP,
    reason: `Completed milestone: ${milestone.title}`,
    key: `milestone_complete_${milestoneId}`,
  });
  if (status === "completed" && goal.status !== "completed") {
    await awardPoints(tx, userId, {
      eventType: "goal_complete",
      eventId: goal.id,
      coins: GOAL_COMPLETION_COINS,
      reason: "Completed a goal",
      key: `goal_complete_${goal.id}`,
    });
  }
  return { milestone, goal_progress: progress, goal_completed: status === "completed" };
}
