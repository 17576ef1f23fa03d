// SQL of personal quests. Every query is scoped to the caller's user id.
import { utc } from "../../db/json";
import type { Sql } from "../../db/sql";
import { timezoneOf } from "../gamification/repo";
import type { CreateQuest, Quest } from "./schema";

const QUEST = (q: string) => `json_build_object('id', ${q}.id, 'title', ${q}.title, 'description', ${q}.description,
  'category', ${q}.category, 'difficulty', ${q}.difficulty, 'xp_reward', ${q}.xp_reward, 'coin_reward', ${q}.coin_reward,
  'status', ${q}.status, 'is_repeatable', ${q}.is_repeatable, 'streak_count', ${q}.streak_count,
  'accepted_at', ${utc(`${q}.accepted_at`)}, 'completed_at', ${utc(`${q}.completed_at`)}, 'expires_at', ${utc(`${q}.expires_at`)})`;

export async function listQuests(sql: Sql, userId: string, status: string | null): Promise<Quest[]> {
  const rows = await sql.query<{ q: Quest }>(
    `SELECT ${QUEST("q")} AS q FROM quests q
     WHERE q.user_id = $1 AND q.is_active AND ($2::text IS NULL OR q.status = $2)
     ORDER BY q.created_at DESC, q.id`,
    [userId, status],
  );
  return rows.map((r) => r.q);
}

/** A new quest, unless the user has `cap` open (available or accepted) ones already (then null). */
export async function insertQuest(sql: Sql, userId: string, input: CreateQuest, rewards: { xp: number; coins: number }, cap: number): Promise<Quest | null> {
  const rows = await sql.query<{ q: Quest }>(
    `INSERT INTO quests AS q (user_id, title, description, category, difficulty, xp_reward, coin_reward, is_repeatable, repeat_frequency)
     SELECT $1::uuid, $2, $3, $4, $5, $6::int, $7::int, $8::boolean, $9
     WHERE (SELECT count(*) FROM quests WHERE user_id = $1 AND is_active AND status IN ('available', 'accepted')) < $10::int
     RETURNING ${QUEST("q")} AS q`,
    [userId, input.title, input.description ?? null, input.category, input.difficulty, rewards.xp, rewards.coins,
      input.is_repeatable, input.repeat_frequency ?? null, cap],
  );
  return rows[0]?.q ?? null;
}

export async function findQuest(sql: Sql, userId: string, id: string): Promise<Quest | null> {
  const rows = await sql.query<{ q: Quest }>(`SELECT ${QUEST("q")} AS q FROM quests q WHERE q.id = $2 AND q.user_id = $1`, [userId, id]);
  return rows[0]?.q ?? null;
}

export interface LockedQuest {
  quest: Quest;
  last_completed_date: string | null;
  timezone: string | null;
}

/** Locks one of the user's quests, with what completing it needs (its last date, the user's timezone). */
export async function lockQuest(sql: Sql, userId: string, id: string): Promise<LockedQuest | null> {
  const rows = await sql.query<{ r: LockedQuest }>(
    `SELECT json_build_object('quest', ${QUEST("q")}, 'last_completed_date', q.last_completed_date,
       'timezone', ${timezoneOf("$1")}) AS r
     FROM quests q WHERE q.id = $2 AND q.user_id = $1 FOR UPDATE`,
    [userId, id],
  );
  return rows[0]?.r ?? null;
}

export async function markAccepted(sql: Sql, userId: string, id: string): Promise<Quest> {
  const rows = await sql.query<{ q: Quest }>(
    `UPDATE quests q SET status = 'accepted', accepted_at = now() WHERE q.id = $2 AND q.user_id = $1 RETURNING ${QUEST("q")} AS q`,
    [userId, id],
  );
  return rows[0]!.q;
}

export async function markAbandoned(sql: Sql, userId: string, id: string): Promise<Quest> {
  const rows = await sql.query<{ q: Quest }>(
    `UPDATE quests q SET status = 'abandoned' WHERE q.id = $2 AND q.user_id = $1 RETURNING ${QUEST("q")} AS q`,
    [userId, id],
  );
  return rows[0]!.q;
}

export async function markCompleted(sql: Sql, userId: string, id: string, today: string, streak: number): Promise<Quest> {
  const rows = await sql.query<{ q: Quest }>(
    `UPDATE quests q SET status = 'completed', completed_at = now(), last_completed_date = $3::date, streak_count = $4
     WHERE q.id = $2 AND q.user_id = $1 RETURNING ${QUEST("q")} AS q`,
    [userId, id, today, streak],
  );
  return rows[0]!.q;
}
