// SQL of goals and milestones. Goals are scoped to the caller; milestones through their goal.
import { utc } from "../../db/json";
import type { Sql } from "../../db/sql";
import type { CreateGoal, CreateMilestone, Goal, Milestone } from "./schema";

const MILESTONE = (m: string) => `json_build_object('id', ${m}.id, 'goal_id', ${m}.goal_id, 'title', ${m}.title,
  'description', ${m}.description, 'is_completed', ${m}.is_completed, 'completed_at', ${utc(`${m}.completed_at`)},
  'sort_order', ${m}.sort_order)`;

const GOAL = (g: string) => `json_build_object('id', ${g}.id, 'title', ${g}.title, 'description', ${g}.description,
  'category', ${g}.category, 'target_date', ${g}.target_date, 'started_at', ${utc(`${g}.started_at`)},
  'completed_at', ${utc(`${g}.completed_at`)}, 'status', ${g}.status, 'progress', ${g}.progress, 'priority', ${g}.priority,
  'milestones', COALESCE((SELECT json_agg(${MILESTONE("m")} ORDER BY m.sort_order, m.id) FROM goal_milestones m WHERE m.goal_id = ${g}.id), '[]'),
  'total_milestones', (SELECT count(*) FROM goal_milestones m WHERE m.goal_id = ${g}.id),
  'completed_milestones', (SELECT count(*) FROM goal_milestones m WHERE m.goal_id = ${g}.id AND m.is_completed))`;

export async function listGoals(sql: Sql, userId: string, status: string | null): Promise<Goal[]> {
  const rows = await sql.query<{ g: Goal }>(
    `SELECT ${GOAL("g")} AS g FROM goals g
     WHERE g.user_id = $1 AND ($2::text IS NULL OR g.status = $2)
     ORDER BY g.priority DESC, g.sort_order, g.title, g.id`,
    [userId, status],
  );
  return rows.map((r) => r.g);
}

/** A new goal, unless the user has `cap` open (active or paused) ones already (then null). */
export async function insertGoal(sql: Sql, userId: string, input: CreateGoal, cap: number): Promise<Goal | null> {
  const rows = await sql.query<{ g: Goal }>(
    `INSERT INTO goals AS g (user_id, title, description, category, target_date, priority, started_at)
     SELECT $1::uuid, $2, $3, $4, $5::date, $6::int, now()
     WHERE (SELECT count(*) FROM goals WHERE user_id = $1 AND status IN ('active', 'paused')) < $7::int
     RETURNING ${GOAL("g")} AS g`,
    [userId, input.title, input.description ?? null, input.category ?? null, input.target_date ?? null, input.priority, cap],
  );
  return rows[0]?.g ?? null;
}

export async function findGoal(sql: Sql, userId: string, id: string): Promise<Goal | null> {
  const rows = await sql.query<{ g: Goal }>(`SELECT ${GOAL("g")} AS g FROM goals g WHERE g.id = $2 AND g.user_id = $1`, [userId, id]);
  return rows[0]?.g ?? null;
}

export interface LockedGoal {
  id: string;
  status: string;
  total: number;
  completed: number;
}

/**
 * The milestone counts of a goal this transaction has locked. They are read by a statement of
 * their own, after the lock: under READ COMMITTED, subqueries in the statement that waited for
 * the lock would still see the milestones as they were before the wait (two milestones
 * completed at once would both count 1 of 2, and the goal would never reach 100 %).
 */
async function withCounts(sql: Sql, locked: { id: string; status: string } | undefined): Promise<LockedGoal | null> {
  if (!locked) return null;
  const rows = await sql.query<{ total: number; completed: number }>(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE is_completed)::int AS completed FROM goal_milestones WHERE goal_id = $1`,
    [locked.id],
  );
  return { ...locked, ...rows[0]! };
}

/** Locks one of the user's goals (progress changes one at a time), with its milestone counts. */
export async function lockGoal(sql: Sql, userId: string, id: string): Promise<LockedGoal | null> {
  const rows = await sql.query<{ id: string; status: string }>("SELECT id, status FROM goals WHERE id = $2 AND user_id = $1 FOR UPDATE", [userId, id]);
  return withCounts(sql, rows[0]);
}

/** Locks the goal that owns a milestone, when the goal is the user's. */
export async function lockGoalOfMilestone(sql: Sql, userId: string, milestoneId: string): Promise<LockedGoal | null> {
  const rows = await sql.query<{ id: string; status: string }>(
    `SELECT g.id, g.status FROM goals g
     WHERE g.user_id = $1 AND g.id = (SELECT goal_id FROM goal_milestones WHERE id = $2)
     FOR UPDATE`,
    [userId, milestoneId],
  );
  return withCounts(sql, rows[0]);
}

export async function insertMilestone(sql: Sql, goalId: string, input: CreateMilestone): Promise<Milestone> {
  const rows = await sql.query<{ m: Milestone }>(
    `INSERT INTO goal_milestones AS m (goal_id, title, description, sort_order)
     VALUES ($1, $2, $3, (SELECT COALESCE(max(sort_order) + 1, 0) FROM goal_milestones WHERE goal_id = $1))
     RETURNING ${MILESTONE("m")} AS m`,
    [goalId, input.title, input.description ?? null],
  );
  return rows[0]!.m;
}

/** Marks a milestone completed (again: its timestamp is refreshed); returns whether it already was. */
export async function markMilestoneCompleted(sql: Sql, id: string): Promise<{ milestone: Milestone; was_completed: boolean }> {
  const rows = await sql.query<{ m: Milestone; was_completed: boolean }>(
    `UPDATE goal_milestones AS m SET is_completed = true, completed_at = now()
     FROM goal_milestones old WHERE m.id = $1 AND old.id = m.id
     RETURNING ${MILESTONE("m")} AS m, old.is_completed AS was_completed`,
    [id],
  );
  return { milestone: rows[0]!.m, was_completed: rows[0]!.was_completed };
}

/** Stores progress; status follows it: 100 → completed (completed_at kept if already set), else active. */
export async function setGoalProgress(sql: Sql, goalId: string, progress: number, status: string): Promise<void> {
  await sql.query(
    `UPDATE goals SET progress = $2, status = $3,
       completed_at = CASE WHEN $3 = 'completed' THEN COALESCE(completed_at, now()) END
     WHERE id = $1`,
    [goalId, progress, status],
  );
}
