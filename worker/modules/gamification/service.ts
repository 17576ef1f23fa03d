// The gamification engine (spec §3.0): the only code that credits or debits XP, coins and skill
// stars. Each call runs inside the caller's transaction and writes the ledger row that explains
// the change in the same statement as the change; an idempotency key never pays twice.
import type { Sql, Tx } from "../../db/sql";
import { AppError } from "../../http/errors";
import { achievementProgress, isEarned } from "./achievements";
import { addXp, skillLevel } from "./level";
import { addSkillStars, credit, debit, ensureWallet, findSkill, insertUserAchievement, lockAwardState, updateStreaks, type AwardState, type PendingAchievement } from "./repo";
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
  /** Keys of achievements this award unlocked (including ones their rewards unlocked). */
  unlocked: string[];
}

function wholeNonNegative(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new AppError("internal_error", `${what} must be a whole non-negative number`);
  return n;
}

/** The user's state as the award's writes change it, held in memory while they are issued. */
interface Running {
  level: number;
  xp: number;
  streaks: Partial<Record<StreakType, Streak>>;
  pending: PendingAchievement[];
  /** Achievements unlocked by this award so far. */
  earned: Set<string>;
  /** Ledger rows this award has added so far, by event type. */
  added: Map<string, number>;
  today: string;
}

/**
 * Credits XP, coins and skill stars for one event, then unlocks what that earns.
 *
 * `state` is what lockAwardState read for this award's key (pass it when the caller fetched it
 * together with its own first statement). Everything the award writes is decided from that state
 * — read under the user's award lock, so nothing else changes it meanwhile — and the statements
 * are issued together: one round trip, however many achievements the award unlocks. With `last`
 * (the transaction, when the award is its last change) its COMMIT goes out with them, once the
 * award has passed every check of its own.
 */
export async function awardPoints(tx: Sql, userId: string, award: Award, state?: AwardState, last?: Tx): Promise<AwardResult> {
  const xp = wholeNonNegative(award.xp ?? 0, "xp");
  const coins = wholeNonNegative(award.coins ?? 0, "coins");
  const stars = wholeNonNegative(award.skillStars ?? 0, "skill stars");
  const s = state ?? (await lockAwardState(tx, userId, award.key));
  const running: Running = {
    level: s.level, xp: s.xp, streaks: { ...s.streaks }, pending: s.pending, earned: new Set(), added: new Map(),
    today: award.today ?? localDate(s.timezone),
  };
  const writes: Array<Promise<unknown>> = [];
  if (s.paid) {
    // Nothing is paid again, but the user was active today (spec §3.0: the daily streak always
    // counts), and a streak that grows can unlock an achievement (whose reward is paid).
    const result: AwardResult = { alreadyAwarded: true, xp: 0, coins: 0, leveledUp: false, newLevel: s.level, level: s.level, unlocked: [] };
    const step = advanceStreak(running.streaks.daily_activity ?? null, running.today);
    if (step.isNewDay) {
      running.streaks.daily_activity = step.streak;
      writes.push(updateStreaks(tx, userId, [{ type: "daily_activity", ...step.streak }]));
      unlockEarned(tx, userId, running, result, writes);
    }
    if (last) writes.push(last.commit());
    await Promise.all(writes);
    return result;
  }
  const skill = stars > 0 && award.skillKey ? await findSkill(tx, award.skillKey) : null;
  if (stars > 0 && !skill) throw new AppError("internal_error", `Unknown skill ${award.skillKey ?? "(none)"}`);

  const result = pay(tx, userId, { ...award, xp, coins, skillStars: stars }, running, writes);
  if (skill) {
    writes.push(addSkillStars(tx, userId, award.skillKey!, stars, (total) => skillLevel(total, skill.stars_per_level, skill.max_level)));
  } else if (last) {
    // (Skill stars take a second statement after the first's answer: their transaction commits
    // when its function returns, as usual.)
    writes.push(last.commit());
  }
  await Promise.all(writes);
  return result;
}

/**
 * Issues one award's credit (ledger row, level, coins, streaks) and the unlocks it earns, each
 * unlock's reward being an award of its own; updates `running` as it goes. Synchronous: the
 * statements go out together, and `writes` settles when they have all run.
 */
function pay(tx: Sql, userId: string, award: Award & { xp: number; coins: number; skillStars: number }, running: Running, writes: Array<Promise<unknown>>): AwardResult {
  const level = addXp({ level: running.level, xp: running.xp }, award.xp);
  const changed: Array<{ type: StreakType } & Streak> = [];
  for (const type of new Set<StreakType>(["daily_activity", ...(award.streaks ?? [])])) {
    const step = advanceStreak(running.streaks[type] ?? null, running.today);
    if (step.isNewDay) changed.push({ type, ...step.streak });
    running.streaks[type] = step.streak;
  }
  const entry = {
    userId, eventType: award.eventType, eventId: award.eventId ?? null, xp: award.xp, coins: award.coins, skillStars: award.skillStars,
    skillKey: award.skillStars > 0 ? award.skillKey! : null, reason: award.reason ?? null, key: award.key,
  };
  // The key was checked under the award lock; should it have paid meanwhile, credit() fails.
  writes.push(credit(tx, entry, level, changed));
  running.level = level.level;
  running.xp = level.xp;
  running.added.set(award.eventType, (running.added.get(award.eventType) ?? 0) + 1);

  const result: AwardResult = {
    alreadyAwarded: false, xp: award.xp, coins: award.coins, leveledUp: level.leveledUp, newLevel: award.xp > 0 ? level.level : null,
    level: level.level, unlocked: [],
  };
  unlockEarned(tx, userId, running, result, writes);
  return result;
}

/**
 * Issues the unlocks `running` (the facts right after the award that `result` reports) earns, each
 * unlock's reward being an award of its own, and adds what they change to `result`.
 */
function unlockEarned(tx: Sql, userId: string, running: Running, result: AwardResult, writes: Array<Promise<unknown>>): void {
  const added = new Map(running.added);
  const level = running.level;
  const currentStreak = Math.max(0, ...Object.values(running.streaks).map((st) => liveStreak(st, running.today)));
  const view = (def: PendingAchievement) => ({
    events: (type: string) => def.events + (added.get(type) ?? 0),
    level,
    currentStreak,
  });
  for (const def of running.pending) {
    // Earned already, by this award or by an earlier unlock's reward.
    if (running.earned.has(def.key) || !isEarned(achievementProgress(def, view(def)))) continue;
    running.earned.add(def.key);
    writes.push(insertUserAchievement(tx, userId, def.key));
    result.unlocked.push(def.key);
    if ((def.reward_xp === 0 && def.reward_coins === 0) || def.reward_paid) continue;
    const paid = pay(tx, userId, {
      eventType: "achievement_unlocked",
      xp: def.reward_xp,
      coins: def.reward_coins,
      skillStars: 0,
      reason: `Achievement: ${def.name}`,
      key: `achievement_${def.key}_${userId}`,
    }, running, writes);
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
