// The gamification engine (spec §3.0): the only code that credits or debits XP, coins and skill
// stars. Each call runs inside the caller's transaction and writes the ledger row that explains
// the change in the same statement as the change; an idempotency key never pays twice.
import type { Sql } from "../../db/sql";
import { AppError } from "../../http/errors";
import { achievementProgress, isEarned } from "./achievements";
import { addXp, skillLevel } from "./level";
import { addSkillStars, credit, debit, ensureWallet, findSkill, insertUserAchievement, lockAwardState, type PendingAchievement } from "./repo";
import { advanceStreak, liveStreak, type Streak, type StreakType } from "./streak";
import { localDate } from "./today";

export interface Award {
  eventType: string;
  eventId?: string | null;
  xp?: number;
  coins?: number;
  skillStars?: number;
  skillKey?: string | null;
  reason?: string | null;
  /** Unique per thing being paid for (e.g. focus_complete_{session id}). */
  key: string;
  /** Streaks this event counts for besides daily_activity (which every award counts for). */
  streaks?: StreakType[];
  /** The user's local date, when the caller already knows it. */
  today?: string;
}

export interface AwardResult {
  /** True when the key had already paid: nothing changed. */
  alreadyAwarded: boolean;
  xp: number;
  coins: number;
  leveledUp: boolean;
  /** The level after the award when it carried XP (as the spec's award_points reports), else null. */
  newLevel: number | null;
  level: number;
  balance: number;
  /** Keys of achievements this award unlocked (including ones their rewards unlocked). */
  unlocked: string[];
}

function wholeNonNegative(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new AppError("internal_error", `${what} must be a whole non-negative number`);
  return n;
}

/** Credits XP, coins and skill stars for one event, then unlocks what that earns. */
export async function awardPoints(tx: Sql, userId: string, award: Award): Promise<AwardResult> {
  const xp = wholeNonNegative(award.xp ?? 0, "xp");
  const coins = wholeNonNegative(award.coins ?? 0, "coins");
  const stars = wholeNonNegative(award.skillStars ?? 0, "skill stars");
  const state = await lockAwardState(tx, userId);
  const skill = stars > 0 && award.skillKey ? await findSkill(tx, award.skillKey) : null;
  if (stars > 0 && !skill) throw new AppError("internal_error", `Unknown skill ${award.skillKey ?? "(none)"}`);
  const today = award.today ?? localDate(state.timezone);
  const level = addXp({ level: state.level, xp: state.xp }, xp);

  const changed: Array<{ type: StreakType } & Streak> = [];
  const streaks = { ...state.streaks };
  for (const type of new Set<StreakType>(["daily_activity", ...(award.streaks ?? [])])) {
    const step = advanceStreak(streaks[type] ?? null, today);
    if (step.isNewDay) changed.push({ type, ...step.streak });
    streaks[type] = step.streak;
  }

  const outcome = await credit(
    tx,
    {
      userId, eventType: award.eventType, eventId: award.eventId ?? null, xp, coins, skillStars: stars,
      skillKey: stars > 0 ? award.skillKey! : null, reason: award.reason ?? null, key: award.key,
    },
    level,
    changed,
  );
  if (!outcome.credited) {
    return { alreadyAwarded: true, xp: 0, coins: 0, leveledUp: false, newLevel: state.level, level: state.level, balance: outcome.balance, unlocked: [] };
  }
  if (skill) {
    await addSkillStars(tx, userId, award.skillKey!, stars, (total) => skillLevel(total, skill.stars_per_level, skill.max_level));
  }

  const result: AwardResult = {
    alreadyAwarded: false, xp, coins, leveledUp: level.leveledUp, newLevel: xp > 0 ? level.level : null,
    level: level.level, balance: outcome.balance, unlocked: [],
  };
  const currentStreak = Math.max(0, ...Object.values(streaks).map((s) => liveStreak(s, today)));
  await unlockEarned(tx, userId, outcome.pending, { eventType: award.eventType, level: level.level, currentStreak, today }, result);
  return result;
}

/** Unlocks every pending achievement the new facts satisfy and pays its reward (which may unlock more). */
async function unlockEarned(
  tx: Sql,
  userId: string,
  pending: PendingAchievement[],
  facts: { eventType: string; level: number; currentStreak: number; today: string },
  result: AwardResult,
): Promise<void> {
  for (const def of pending) {
    const view = {
      // def.events counts the user's rows of def's event type from before this award's own row.
      events: (type: string) => def.events + (type === facts.eventType ? 1 : 0),
      level: facts.level,
      currentStreak: facts.currentStreak,
    };
    if (!isEarned(achievementProgress(def, view))) continue;
    if (!(await insertUserAchievement(tx, userId, def.key))) continue;
    result.unlocked.push(def.key);
    if (def.reward_xp === 0 && def.reward_coins === 0) continue;
    const paid = await awardPoints(tx, userId, {
      eventType: "achievement_unlocked",
      xp: def.reward_xp,
      coins: def.reward_coins,
      reason: `Achievement: ${def.name}`,
      key: `achievement_${def.key}_${userId}`,
      today: facts.today,
    });
    result.balance = paid.balance;
    result.leveledUp ||= paid.leveledUp;
    if (paid.level > result.level) {
      result.level = paid.level;
      if (result.newLevel !== null) result.newLevel = paid.level;
    }
    result.unlocked.push(...paid.unlocked);
  }
}

/**
 * Spends coins with the ledger row (event `spend`) that explains it. Throws 400 with the spec's
 * message when the balance does not cover `amount`; the balance never goes below zero.
 */
export async function spendCoins(
  tx: Sql,
  userId: string,
  spend: { amount: number; eventId: string; key: string; reason: string },
): Promise<number> {
  const amount = wholeNonNegative(spend.amount, "amount");
  const entry = { userId, eventType: "spend", eventId: spend.eventId, coins: amount, reason: spend.reason, key: spend.key };
  let outcome = await debit(tx, entry);
  if (!outcome.ok && amount === 0) {
    await ensureWallet(tx, userId);
    outcome = await debit(tx, entry);
  }
  if (!outcome.ok) throw new AppError("bad_request", `Insufficient coins. Need ${amount} but have ${outcome.balance}`);
  return outcome.balance;
}
