// SQL of habits and their logs. Every query is scoped to the caller's user id.
import { utc } from "../../db/json";
import type { Sql } from "../../db/sql";
import { timezoneOf } from "../gamification/repo";
import type { Streak } from "../gamification/streak";
import type { CreateHabit, HabitRow } from "./schema";

const LATEST_LOG = (h: string) => `(SELECT max(l.completed_date) FROM habit_logs l WHERE l.habit_id = ${h}.id)`;

const HABIT = (h: string, lastLog = LATEST_LOG(h)) => `json_build_object('id', ${h}.id, 'name', ${h}.name, 'description', ${h}.description,
  'frequency', ${h}.frequency, 'target_count', ${h}.target_count, 'icon', ${h}.icon, 'color', ${h}.color,
  'is_active', ${h}.is_active, 'current_streak', ${h}.current_streak, 'longest_streak', ${h}.longest_streak,
  'last_completed_at', ${utc(`${h}.last_completed_at`)}, 'sort_order', ${h}.sort_order,
  'last_log_date', ${lastLog})`;

/** Active habits (sort_order, name) and the user's timezone. */
export async function listActiveHabits(sql: Sql, userId: string): Promise<{ habits: HabitRow[]; timezone: string | null }> {
  const rows = await sql.query<{ r: { habits: HabitRow[]; timezone: string | null } }>(
    `SELECT json_build_object('timezone', ${timezoneOf("$1")},
       'habits', COALESCE((SELECT json_agg(${HABIT("h")} ORDER BY h.sort_order, h.name, h.id)
         FROM habits h WHERE h.user_id = $1 AND h.is_active), '[]')) AS r`,
    [userId],
  );
  return rows[0]!.r;
}

/** A new habit, unless the user has `cap` active ones already (then null). */
export async function insertHabit(sql: Sql, userId: string, input: CreateHabit, cap: number): Promise<HabitRow | null> {
  const rows = await sql.query<{ h: HabitRow }>(
    `INSERT INTO habits AS h (user_id, name, description, frequency, target_count, custom_days, icon, color)
     SELECT $1::uuid, $2, $3, $4, $5::int, $6, $7, $8
     WHERE (SELECT count(*) FROM habits WHERE user_id = $1 AND is_active) < $9::int
     RETURNING ${HABIT("h")} AS h`,
    [userId, input.name, input.description ?? null, input.frequency, input.target_count,
      input.custom_days == null ? null : JSON.stringify(input.custom_days), input.icon ?? null, input.color ?? null, cap],
  );
  return rows[0]?.h ?? null;
}

/** Locks one of the user's habits; with its latest log date and the user's timezone. */
export async function lockHabit(sql: Sql, userId: string, id: string): Promise<{ habit: HabitRow; timezone: string | null } | null> {
  const rows = await sql.query<{ r: { habit: HabitRow; timezone: string | null } }>(
    `SELECT json_build_object('habit', ${HABIT("h")}, 'timezone', ${timezoneOf("$1")}) AS r
     FROM habits h WHERE h.id = $2 AND h.user_id = $1 FOR UPDATE`,
    [userId, id],
  );
  return rows[0]?.r ?? null;
}

/** Logs the completion for `date` and stores the habit's new streak; null if `date` was already logged. */
export async function logCompletion(
  sql: Sql,
  userId: string,
  id: string,
  date: string,
  notes: string | null,
  streak: Streak,
): Promise<HabitRow | null> {
  const rows = await sql.query<{ h: HabitRow }>(
    `WITH log AS (
       INSERT INTO habit_logs (habit_id, user_id, completed_date, notes) VALUES ($2, $1, $3::date, $4)
       ON CONFLICT (habit_id, completed_date) DO NOTHING
       RETURNING completed_date
     )
     UPDATE habits h SET current_streak = $5, longest_streak = GREATEST(h.longest_streak, $6), last_completed_at = now()
     WHERE h.id = $2 AND h.user_id = $1 AND EXISTS (SELECT 1 FROM log)
     -- The log row is not visible to this statement's snapshot: its date comes from the CTE.
     RETURNING ${HABIT("h", "(SELECT completed_date FROM log)")} AS h`,
    [userId, id, date, notes, streak.current, streak.longest],
  );
  return rows[0]?.h ?? null;
}
