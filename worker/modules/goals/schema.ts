// Request and response shapes of /api/goals (spec §3.4).
import { z } from "zod";
import { calendarDate, optionalText, orDefault, requiredText } from "../../http/fields";
import { GOAL_STATUSES } from "./rules";

const title = requiredText(200);
const description = optionalText(5000);

export const createGoalBody = z.object({
  title,
  description,
  category: optionalText(100),
  target_date: calendarDate.nullish(),
  priority: orDefault(z.number().int().min(-1000).max(1000), 0),
});
export type CreateGoal = z.infer<typeof createGoalBody>;

export const createMilestoneBody = z.object({ title, description });
export type CreateMilestone = z.infer<typeof createMilestoneBody>;

export const listGoalsQuery = z.object({ status: z.enum(GOAL_STATUSES).optional() });

export interface Milestone {
  id: string;
  goal_id: string;
  title: string;
  description: string | null;
  is_completed: boolean;
  completed_at: string | null;
  sort_order: number;
}

export interface Goal {
  id: string;
  title: string;
  description: string | null;
  category: string | null;
  target_date: string | null;
  started_at: string | null;
  completed_at: string | null;
  status: string;
  progress: number;
  priority: number;
  milestones: Milestone[];
  total_milestones: number;
  completed_milestones: number;
}
