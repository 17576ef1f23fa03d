// SQL of focus sessions and the pause state. Every query is scoped to the caller's user id.
import { utc } from "../../db/json";
import type { Sql } from "../../db/sql";
import { AWARD_STATE, awardStateOf, type AwardState, type AwardStateRow } from "../gamification/repo";
import type { FocusRow, PauseState, StartFocus } from "./schema";

const SESSION = (s: string) => `json_build_object('id', ${s}.id, 'mode', ${s}.mode, 'duration_seconds', ${s}.duration_seconds,
  'started_at', ${utc(`${s}.started_at`)}, 'completed_at', ${utc(`${s}.completed_at`)}, 'abandoned_at', ${utc(`${s}.abandoned_at`)},
  'expires_at', ${utc(`${s}.expires_at`)}, 'status', ${s}.status, 'xp_awarded', ${s}.xp_awarded, 'coins_awarded', ${s}.coins_awarded,
  'task_title', ${s}.task_title, 'paused_remaining_seconds', ${s}.paused_remaining_seconds)`;

const PAUSE = (p: string) =>
  `json_build_object('mode', ${p}.mode, 'time_remaining_seconds', ${p}.time_remaining_seconds, 'paused_at', ${utc(`${p}.paused_at`)})`;

/** Abandons every live session of the user and forgets the pause state. */
export async function abandonLiveSessions(sql: Sql, userId: string): Promise<void> {
  await sql.query(
    `WITH forget AS (DELETE FROM focus_pause_state WHERE user_id = $1)
     UPDATE focus_sessions SET status = 'abandoned', abandoned_at = now(), paused_at = NULL
     WHERE user_id = $1 AND status IN ('active', 'paused')`,
    [userId],
  );
}

/** A new active session that expires after its duration. */
export async function insertSession(sql: Sql, userId: string, input: StartFocus): Promise<FocusRow> {
  const rows = await sql.query<{ s: FocusRow }>(
    `INSERT INTO focus_sessions AS f (user_id, mode, duration_seconds, expires_at, task_id, task_title)
     VALUES ($1, $2, $3, now() + make_interval(secs => $3::int), $4, $5)
     RETURNING ${SESSION("f")} AS s`,
    [userId, input.mode, input.duration_seconds, input.task_id ?? null, input.task_title ?? null],
  );
  return rows[0]!.s;
}

export async function listSessions(sql: Sql, userId: string, page: number, pageSize: number): Promise<{ sessions: FocusRow[]; total: number }> {
  const rows = await sql.query<{ r: { sessions: FocusRow[]; total: number } }>(
    `SELECT json_build_object(
       'total', (SELECT count(*) FROM focus_sessions WHERE user_id = $1),
       'sessions', COALESCE((SELECT json_agg(${SESSION("f")} ORDER BY f.started_at DESC, f.id)
         FROM (SELECT * FROM focus_sessions WHERE user_id = $1 ORDER BY started_at DESC, id LIMIT $2 OFFSET $3) f), '[]')
     ) AS r`,
    [userId, pageSize, (page - 1) * pageSize],
  );
  return rows[0]!.r;
}

export interface FocusStats {
  completed_sessions: number;
  abandoned_sessions: number;
  total_focus_seconds: number;
  total_xp_earned: number;
  total_coins_earned: number;
}

/** Totals over sessions started within the last `days` days (all time when null). */
export async function sessionStats(sql: Sql, userId: string, days: number | null): Promise<FocusStats> {
  const rows = await sql.query<{ r: FocusStats }>(
    `SELECT json_build_object(
       'completed_sessions', count(*) FILTER (WHERE status = 'completed'),
       'abandoned_sessions', count(*) FILTER (WHERE status = 'abandoned'),
       'total_focus_seconds', COALESCE(sum(duration_seconds) FILTER (WHERE status = 'completed'), 0),
       'total_xp_earned', COALESCE(sum(xp_awarded), 0),
       'total_coins_earned', COALESCE(sum(coins_awarded), 0)) AS r
     FROM focus_sessions
     WHERE user_id = $1 AND ($2::int IS NULL OR started_at >= now() - make_interval(days => $2::int))`,
    [userId, days],
  );
  return rows[0]!.r;
}

/** The latest active or paused session and the pause state, both possibly null. */
export async function findLive(sql: Sql, userId: string): Promise<{ session: FocusRow | null; pause: PauseState | null }> {
  const rows = await sql.query<{ r: { session: FocusRow | null; pause: PauseState | null } }>(
    `SELECT json_build_object(
       'session', (SELECT ${SESSION("f")} FROM focus_sessions f
                   WHERE f.user_id = $1 AND f.status IN ('active', 'paused') ORDER BY f.started_at DESC LIMIT 1),
       'pause', (SELECT ${PAUSE("p")} FROM focus_pause_state p WHERE p.user_id = $1)) AS r`,
    [userId],
  );
  return rows[0]!.r;
}

export async function findPauseState(sql: Sql, userId: string): Promise<PauseState | null> {
  const rows = await sql.query<{ p: PauseState }>(`SELECT ${PAUSE("p")} AS p FROM focus_pause_state p WHERE p.user_id = $1`, [userId]);
  return rows[0]?.p ?? null;
}

/** Locks one of the user's sessions (by id, or the latest live one when id is null). */
export async function lockSession(sql: Sql, userId: string, id: string | null): Promise<FocusRow | null> {
  const rows = await sql.query<{ s: FocusRow }>(
    id === null
      ? `SELECT ${SESSION("f")} AS s FROM focus_sessions f WHERE f.user_id = $1 AND f.status IN ('active', 'paused')
         ORDER BY f.started_at DESC LIMIT 1 FOR UPDATE`
      : `SELECT ${SESSION("f")} AS s FROM focus_sessions f WHERE f.user_id = $1 AND f.id = $2 FOR UPDATE`,
    id === null ? [userId] : [userId, id],
  );
  return rows[0]?.s ?? null;
}

/**
 * Locks one of the user's sessions, then takes the award lock and reads the award state for
 * `key` (the engine's award_state), in one statement and in that order: the session's row is
 * locked in the inner query before the outer one calls award_state.
 */
export async function lockSessionForAward(sql: Sql, userId: string, id: string, key: string): Promise<{ session: FocusRow | null; state: AwardState }> {
  const rows = await sql.query<{ s: FocusRow | null; state: AwardStateRow }>(
    `SELECT locked.s, ${AWARD_STATE("$1", "$3")} AS state
     FROM (SELECT (SELECT ${SESSION("f")} FROM focus_sessions f WHERE f.user_id = $1 AND f.id = $2 FOR UPDATE) AS s OFFSET 0) locked`,
    [userId, id, key],
  );
  return { session: rows[0]!.s, state: awardStateOf(rows[0]!.state) };
}

/** Pauses the session with `remaining` seconds left and records the user's pause state. */
export async function pauseSession(sql: Sql, userId: string, session: FocusRow, remaining: number): Promise<PauseState> {
  const rows = await sql.query<{ p: PauseState }>(
    `WITH paused AS (
       UPDATE focus_sessions SET status = 'paused', paused_at = now(), paused_remaining_seconds = $3
       WHERE id = $2 AND user_id = $1
     )
     INSERT INTO focus_pause_state AS p (user_id, session_id, mode, time_remaining_seconds, paused_at)
     VALUES ($1, $2, $4, $3, now())
     ON CONFLICT (user_id) DO UPDATE SET session_id = EXCLUDED.session_id, mode = EXCLUDED.mode,
       time_remaining_seconds = EXCLUDED.time_remaining_seconds, paused_at = EXCLUDED.paused_at
     RETURNING ${PAUSE("p")} AS p`,
    [userId, session.id, remaining, session.mode],
  );
  return rows[0]!.p;
}

/** Locks and removes the pause state; returns the paused session id it pointed at, if any. */
export async function takePauseState(sql: Sql, userId: string): Promise<{ session_id: string | null; remaining: number } | null> {
  const rows = await sql.query<{ session_id: string | null; remaining: number }>(
    "DELETE FROM focus_pause_state WHERE user_id = $1 RETURNING session_id, time_remaining_seconds AS remaining",
    [userId],
  );
  return rows[0] ?? null;
}

/** Makes a paused session active again, expiring `remaining` seconds from now. */
export async function resumeSession(sql: Sql, userId: string, id: string, remaining: number): Promise<FocusRow | null> {
  const rows = await sql.query<{ s: FocusRow }>(
    `UPDATE focus_sessions AS f SET status = 'active', paused_at = NULL, paused_remaining_seconds = NULL,
       expires_at = now() + make_interval(secs => $3)
     WHERE f.id = $2 AND f.user_id = $1 AND f.status = 'paused'
     RETURNING ${SESSION("f")} AS s`,
    [userId, id, remaining],
  );
  return rows[0]?.s ?? null;
}

/** Ends a session (completed with its rewards, or abandoned) and forgets the pause state. */
export async function finishSession(
  sql: Sql,
  userId: string,
  id: string,
  end: { status: "completed"; xp: number; coins: number } | { status: "abandoned" },
): Promise<FocusRow> {
  const completed = end.status === "completed";
  const rows = await sql.query<{ s: FocusRow }>(
    `WITH forget AS (DELETE FROM focus_pause_state WHERE user_id = $1 AND session_id = $2)
     UPDATE focus_sessions AS f SET status = $3, paused_at = NULL, paused_remaining_seconds = NULL,
       completed_at = CASE WHEN $3 = 'completed' THEN now() END,
       abandoned_at = CASE WHEN $3 = 'abandoned' THEN now() END,
       xp_awarded = $4, coins_awarded = $5
     WHERE f.id = $2 AND f.user_id = $1
     RETURNING ${SESSION("f")} AS s`,
    [userId, id, end.status, completed ? end.xp : 0, completed ? end.coins : 0],
  );
  return rows[0]!.s;
}
