// Focus rules (spec §3.1): completion rewards and the time left on a live session.
export const FOCUS_MODES = ["focus", "break", "long_break"] as const;
export type FocusMode = (typeof FOCUS_MODES)[number];

/** Completion reward (integer division): focus max(5, s/60) XP and max(2, s/300) coins; breaks 2/0 and 3/1. */
export function focusReward(mode: FocusMode, durationSeconds: number): { xp: number; coins: number } {
  switch (mode) {
    case "focus":
      return { xp: Math.max(5, Math.floor(durationSeconds / 60)), coins: Math.max(2, Math.floor(durationSeconds / 300)) };
    case "break":
      return { xp: 2, coins: 0 };
    case "long_break":
      return { xp: 3, coins: 1 };
  }
}

/**
 * Whole seconds left: an active session counts down to expires_at; a paused one keeps what was
 * left when it was paused; without an expiry the full duration is left.
 */
export function secondsRemaining(
  s: { status: string; expires_at: string | null; paused_remaining_seconds: number | null; duration_seconds: number },
  now: number = Date.now(),
): number {
  if (s.status === "paused" && s.paused_remaining_seconds !== null) return s.paused_remaining_seconds;
  if (s.expires_at === null) return s.duration_seconds;
  return Math.max(0, Math.ceil((Date.parse(s.expires_at) - now) / 1000));
}

export function isLive(status: string): boolean {
  return status === "active" || status === "paused";
}
