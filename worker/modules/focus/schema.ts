// Request and response shapes of /api/focus (spec §3.1).
import { z } from "zod";
import { optionalText, orDefault } from "../../http/fields";
import { FOCUS_MODES, isLive, secondsRemaining } from "./rules";

export const startFocusBody = z.object({
  mode: orDefault(z.enum(FOCUS_MODES), "focus"),
  // One minute to four hours.
  duration_seconds: orDefault(z.number().int().min(60).max(14_400), 1500),
  task_id: z.guid().nullish(),
  task_title: optionalText(500),
});
export type StartFocus = z.infer<typeof startFocusBody>;

const flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

export const listFocusQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  // At most 100 sessions per page; a larger page_size is lowered to 100 (and answered as such), as
  // the market's history limit is: the old code had no cap, so a client may ask for more.
  page_size: z.coerce.number().int().min(1).max(1_000_000).default(20).transform((n) => Math.min(n, 100)),
  stats: flag.default(false),
  period: z.enum(["day", "week", "month", "all"]).default("all"),
});

/** A focus_sessions row as the repo reads it. */
export interface FocusRow {
  id: string;
  mode: string;
  duration_seconds: number;
  started_at: string;
  completed_at: string | null;
  abandoned_at: string | null;
  expires_at: string | null;
  status: string;
  xp_awarded: number;
  coins_awarded: number;
  task_title: string | null;
  paused_remaining_seconds: number | null;
}

export interface PauseState {
  mode: string;
  time_remaining_seconds: number;
  paused_at: string;
}

/** FocusSession: time_remaining_seconds only while the session is active or paused. */
export function focusSessionOf(row: FocusRow, now = Date.now()) {
  const { paused_remaining_seconds: _internal, ...session } = row;
  return isLive(row.status) ? { ...session, time_remaining_seconds: secondsRemaining(row, now) } : session;
}
