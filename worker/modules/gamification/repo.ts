// SQL of the gamification engine. Every function takes the executor; the caller owns the
// transaction. Rows come back as one JSON column where that saves the driver per-column parsing.
import { utc } from "../../db/json";
import type { Sql } from "../../db/sql";
import type { AchievementTrigger } from "./achievements";
import type { Streak, StreakType } from "./streak";

/** The user's timezone as a scalar subquery on the user id parameter `param` (e.g. "$1"). */
export const timezoneOf = (param: string) => `(SELECT timezone FROM user_settings WHERE user_id = ${param})`;

export interface AwardState {
  level: number;
  xp: number;
  timezone: string | null;
  /** Whether the award's idempotency key has already paid. */
  paid: boolean;
  streaks: Partial<Record<StreakType, Streak>>;
  /** Achievements the user has not earned yet, in definition order. */
  pending: PendingAchievement[];
}

export interface AwardStateRow extends Omit<AwardState, "streaks"> {
  streaks: Array<{ type: StreakType; current: number; longest: number; last: string | null }>;
}

/**
 * Locks the user's progress row (created on first use) and reads what an award needs, in one
 * statement (award_state, migration 0016: a read after the lock, so it sees every award that held
 * it). Every award takes this lock first, so a user's awards run one at a time and never lose an
 * update. `key` is the award's idempotency key.
 */
export async function lockAwardState(sql: Sql, userId: string, key: string): Promise<AwardState> {
  const rows = await sql.query<{ state: AwardStateRow }>(`SELECT ${AWARD_STATE("$1", "$2")} AS state`, [userId, key]);
  return awardStateOf(rows[0]!.state);
}

/**
 * The lock-and-read as a SQL expression on the user id and key parameters, for a caller that
 * takes its own row lock first in the same statement (see the focus completion).
 */
export const AWARD_STATE = (user: string, key: string) => `award_state(${user}, ${key})`;

/** An award_state() value as the engine uses it. */
export function awardStateOf(s: AwardStateRow): AwardState {
  const streaks: AwardState["streaks"] = {};
  for (const r of s.streaks) streaks[r.type] = { current: r.current, longest: r.longest, last: r.last };
  return { ...s, xp: Number(s.xp), streaks };
}

export interface LedgerEntry {
  userId: string;
  eventType: string;
  eventId: string | null;
  xp: number;
  coins: number;
  skillStars: number;
  skillKey: string | null;
  reason: string | null;
  key: string;
}

export interface PendingAchievement extends AchievementTrigger {
  name: string;
  reward_coins: number;
  reward_xp: number;
  /** Whether its reward's idempotency key has already paid. */
  reward_paid: boolean;
  /** Ledger rows of its event type before this award (counted up to what the trigger needs). */
  events: number;
}

/** Upserts the streaks in the JSON array `streaks` ({type, current, longest, last}). */
const saveStreaks = (user: string, streaks: string) =>
  `INSERT INTO user_streaks AS us (user_id, streak_type, current_streak, longest_streak, last_activity_date)
   SELECT ${user}, s.type, s.current, s.longest, s.last::date
   FROM json_to_recordset(${streaks}::json) AS s(type text, current int, longest int, last text)
   ON CONFLICT (user_id, streak_type) DO UPDATE SET current_streak = EXCLUDED.current_streak,
     longest_streak = EXCLUDED.longest_streak, last_activity_date = EXCLUDED.last_activity_date`;

/** Stores changed streaks on their own (an award whose key already paid still counts as activity). */
export async function updateStreaks(sql: Sql, userId: string, streaks: Array<{ type: StreakType } & Streak>): Promise<void> {
  await sql.query(saveStreaks("$1", "$2"), [userId, JSON.stringify(streaks)]);
}

/**
 * One statement: the ledger row, the new level state, the coin credit and the changed streaks.
 * A key that has already paid is a unique violation (23505), an SQL error, so the statement —
 * and the transaction, even one whose COMMIT went out with it — changes nothing.
 */
export async function credit(
  sql: Sql,
  entry: LedgerEntry,
  level: { level: number; xp: number; toNext: number },
  streaks: Array<{ type: StreakType } & Streak>,
): Promise<void> {
  await sql.query(
    `WITH ledger AS (
       INSERT INTO points_ledger (user_id, event_type, event_id, xp, coins, skill_stars, skill_key, reason, idempotency_key)
       VALUES ($1, $2, $3, $4::int, $5::int, $6::int, $7, $8, $9)
     ), progress AS (
       UPDATE user_progress SET total_xp = $10, current_level = $11, xp_to_next_level = $12,
         total_skill_stars = total_skill_stars + $6::int
       WHERE user_id = $1 AND ($4::int > 0 OR $6::int > 0)
     ), wallet AS (
       INSERT INTO user_wallet AS w (user_id, coins, total_earned)
       SELECT $1, $5::int, $5::int WHERE $5::int > 0
       ON CONFLICT (user_id) DO UPDATE SET coins = w.coins + EXCLUDED.coins, total_earned = w.total_earned + EXCLUDED.total_earned
     )
     ${saveStreaks("$1", "$13")}`,
    [
      entry.userId, entry.eventType, entry.eventId, entry.xp, entry.coins, entry.skillStars, entry.skillKey, entry.reason, entry.key,
      level.xp, level.level, level.toNext, JSON.stringify(streaks),
    ],
  );
}

/** Records an unlock (a second one for the same achievement changes nothing). */
export async function insertUserAchievement(sql: Sql, userId: string, key: string): Promise<void> {
  await sql.query(
    "INSERT INTO user_achievements (user_id, achievement_key) VALUES ($1, $2) ON CONFLICT (user_id, achievement_key) DO NOTHING",
    [userId, key],
  );
}

export async function findSkill(sql: Sql, key: string): Promise<{ max_level: number; stars_per_level: number } | null> {
  const rows = await sql.query<{ max_level: number; stars_per_level: number }>(
    "SELECT max_level, stars_per_level FROM skill_definitions WHERE key = $1",
    [key],
  );
  return rows[0] ?? null;
}

/** Adds stars to the user's skill and stores the level the caller computes from the new total. */
export async function addSkillStars(sql: Sql, userId: string, key: string, stars: number, levelOf: (total: number) => number): Promise<number> {
  const rows = await sql.query<{ current_stars: number; current_level: number }>(
    `INSERT INTO user_skills AS s (user_id, skill_key, current_stars) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, skill_key) DO UPDATE SET current_stars = s.current_stars + EXCLUDED.current_stars
     RETURNING current_stars, current_level`,
    [userId, key, stars],
  );
  const { current_stars, current_level } = rows[0]!;
  const level = levelOf(current_stars);
  if (level !== current_level) {
    await sql.query("UPDATE user_skills SET current_level = $3 WHERE user_id = $1 AND skill_key = $2", [userId, key, level]);
  }
  return level;
}

/**
 * Debits coins with the ledger row that explains it, in one statement, only if the balance
 * covers it (a conditional UPDATE: concurrent debits re-check the row they waited for).
 * Returns the new balance, or — when it does not cover the amount — the balance as it is now.
 */
export async function debit(
  sql: Sql,
  entry: Omit<LedgerEntry, "xp" | "skillStars" | "skillKey">,
): Promise<{ ok: boolean; balance: number }> {
  const rows = await sql.query<{ balance: string }>(
    `WITH wallet AS (
       UPDATE user_wallet SET coins = coins - $5::int, total_spent = total_spent + $5::int
       WHERE user_id = $1 AND coins >= $5::int
       RETURNING coins
     ), ledger AS (
       INSERT INTO points_ledger (user_id, event_type, event_id, coins, reason, idempotency_key)
       SELECT $1, $2, $3, -$5::int, $4, $6 FROM wallet
     )
     SELECT coins AS balance FROM wallet`,
    [entry.userId, entry.eventType, entry.eventId, entry.reason, entry.coins, entry.key],
  );
  if (rows[0]) return { ok: true, balance: Number(rows[0].balance) };
  // A new statement sees the latest committed balance (the one above used its own snapshot).
  const now = await sql.query<{ coins: string }>("SELECT coins FROM user_wallet WHERE user_id = $1", [entry.userId]);
  return { ok: false, balance: Number(now[0]?.coins ?? 0) };
}

/** Makes sure a wallet row exists (a free item can be "bought" before any coin was earned). */
export async function ensureWallet(sql: Sql, userId: string): Promise<void> {
  await sql.query("INSERT INTO user_wallet (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING", [userId]);
}

export interface ProgressSnapshot {
  xp: number;
  level: number;
  to_next: number;
  stars: number;
  coins: number;
  achievements: number;
  timezone: string | null;
  streaks: Array<{ current: number; longest: number; last: string | null }>;
}

/** Level, wallet, achievement count and streaks of a user; defaults when nothing was earned yet. */
export async function readProgress(sql: Sql, userId: string): Promise<ProgressSnapshot> {
  const rows = await sql.query<{ s: ProgressSnapshot }>(
    `SELECT json_build_object(
       'xp', COALESCE(p.total_xp, 0), 'level', COALESCE(p.current_level, 1), 'to_next', COALESCE(p.xp_to_next_level, 100),
       'stars', COALESCE(p.total_skill_stars, 0), 'coins', COALESCE(w.coins, 0),
       'achievements', (SELECT count(*) FROM user_achievements a WHERE a.user_id = u.id),
       'timezone', ${timezoneOf("u.id")},
       'streaks', COALESCE((SELECT json_agg(json_build_object('current', s.current_streak, 'longest', s.longest_streak,
         'last', s.last_activity_date)) FROM user_streaks s WHERE s.user_id = u.id), '[]')
     ) AS s
     FROM users u LEFT JOIN user_progress p ON p.user_id = u.id LEFT JOIN user_wallet w ON w.user_id = u.id
     WHERE u.id = $1`,
    [userId],
  );
  const s = rows[0]!.s;
  return { ...s, xp: Number(s.xp), coins: Number(s.coins) };
}

export interface AchievementDefinitionRow extends AchievementTrigger {
  id: string;
  name: string;
  description: string | null;
  category: string;
  icon: string | null;
  reward_coins: number;
  reward_xp: number;
  is_hidden: boolean;
  sort_order: number;
  created_at: string;
  /** The user's ledger rows of trigger_config.event_type, counted up to what the trigger needs (0 when there is none). */
  events: number;
}

/**
 * Visible definitions the user has not earned, cheapest reward first (the teaser's order), each
 * with the user's event count up to what its trigger needs (achievement_events, migration 0019,
 * which award_state counts with too).
 */
export async function listUnearnedVisible(sql: Sql, userId: string): Promise<AchievementDefinitionRow[]> {
  const rows = await sql.query<{ d: AchievementDefinitionRow }>(
    `SELECT json_build_object('id', d.id, 'key', d.key, 'name', d.name, 'description', d.description, 'category', d.category,
       'icon', d.icon, 'trigger_type', d.trigger_type, 'trigger_config', d.trigger_config, 'reward_coins', d.reward_coins,
       'reward_xp', d.reward_xp, 'is_hidden', d.is_hidden, 'sort_order', d.sort_order, 'created_at', ${utc("d.created_at")},
       'events', (SELECT events FROM achievement_events($1, d.trigger_type, d.trigger_config))) AS d
     FROM achievement_definitions d
     WHERE NOT d.is_hidden
       AND NOT EXISTS (SELECT 1 FROM user_achievements a WHERE a.user_id = $1 AND a.achievement_key = d.key)
     ORDER BY d.reward_coins, d.sort_order, d.key`,
    [userId],
  );
  return rows.map((r) => r.d);
}
