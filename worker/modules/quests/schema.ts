// Request and response shapes of /api/quests (spec §3.2).
import { z } from "zod";
import { optionalText, orDefault, requiredText } from "../../http/fields";
import { QUEST_DIFFICULTIES, QUEST_STATUSES, REPEAT_FREQUENCIES } from "./rules";

const reward = z.number().int().min(0).max(10_000);

export const createQuestBody = z.object({
  title: requiredText(200),
  category: requiredText(100),
  description: optionalText(5000),
  difficulty: orDefault(z.enum(QUEST_DIFFICULTIES), "starter"),
  xp_reward: reward.nullish(),
  coin_reward: reward.nullish(),
  is_repeatable: orDefault(z.boolean(), false),
  repeat_frequency: z.enum(REPEAT_FREQUENCIES).nullish(),
});
export type CreateQuest = z.infer<typeof createQuestBody>;

export const listQuestsQuery = z.object({ status: z.enum(QUEST_STATUSES).optional() });

export interface Quest {
  id: string;
  title: string;
  description: string | null;
  category: string;
  difficulty: string;
  xp_reward: number;
  coin_reward: number;
  status: string;
  is_repeatable: boolean;
  streak_count: number;
  accepted_at: string | null;
  completed_at: string | null;
  expires_at: string | null;
}
