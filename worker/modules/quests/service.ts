// Personal quest state machine and rewards (spec §3.2). Functions run inside the caller's transaction.
import type { Sql, Tx } from "../../db/sql";
import { lockWriteCommit } from "../../db/user-lock";
import { AppError, overCap } from "../../http/errors";
import { awardPoints } from "../gamification/service";
import { localDate } from "../gamification/today";
import { insertQuest, lockQuest, markAbandoned, markAccepted, markCompleted, type LockedQuest } from "./repo";
import { canAbandon, canAccept, canComplete, defaultRewards, MAX_OPEN_QUESTS, questStreak } from "./rules";
import type { CreateQuest } from "./schema";

/** A new quest with the difficulty's default rewards, under the user's lock so that parallel creates cannot pass the cap together. */
export async function createQuest(tx: Tx, userId: string, input: CreateQuest) {
  const defaults = defaultRewards(input.difficulty);
  const rewards = { xp: input.xp_reward ?? defaults.xp, coins: input.coin_reward ?? defaults.coins };
  const quest = await lockWriteCommit(tx, "quests.create", userId, () => insertQuest(tx, userId, input, rewards, MAX_OPEN_QUESTS));
  if (!quest) throw overCap(MAX_OPEN_QUESTS, "open quests");
  return quest;
}

async function lockOwn(tx: Sql, userId: string, id: string, allowed: (status: string) => boolean, verb: string): Promise<LockedQuest> {
  const locked = await lockQuest(tx, userId, id);
  if (!locked) throw new AppError("not_found", "Quest not found");
  if (!allowed(locked.quest.status)) throw new AppError("bad_request", `Quest cannot be ${verb} (status: ${locked.quest.status})`);
  return locked;
}

export async function acceptQuest(tx: Sql, userId: string, id: string) {
  await lockOwn(tx, userId, id, canAccept, "accepted");
  return markAccepted(tx, userId, id);
}

export async function abandonQuest(tx: Sql, userId: string, id: string) {
  await lockOwn(tx, userId, id, canAbandon, "abandoned");
  return markAbandoned(tx, userId, id);
}

/** Completes the quest and credits its XP and coins (key quest_complete_{id}_{local date}). */
export async function completeQuest(tx: Tx, userId: string, id: string) {
  const { quest, last_completed_date, timezone } = await lockOwn(tx, userId, id, canComplete, "completed");
  const today = localDate(timezone);
  const streak = questStreak({ ...quest, last_completed_date }, today);
  // The two go out together: the award needs nothing the update returns. The award's writes take
  // COMMIT with them.
  const [done, award] = await Promise.all([markCompleted(tx, userId, id, today, streak), awardPoints(tx, userId, {
    eventType: "quest_complete",
    eventId: id,
    xp: quest.xp_reward,
    coins: quest.coin_reward,
    reason: `Completed quest: ${quest.title}`,
    key: `quest_complete_${id}_${today}`,
    today,
  }, undefined, tx)]);
  return {
    quest: done,
    xp_awarded: award.xp,
    coins_awarded: award.coins,
    leveled_up: award.leveledUp,
    new_level: award.newLevel,
  };
}
