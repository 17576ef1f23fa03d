import type { AppContext } from "../context";
import { AppError } from "../http/errors";
import { audit } from "./audit";

export const WINDOW_SECONDS = 60;

/** A key's count in the current window, after counting this request. */
export interface Hit {
  count: number;
  /** Seconds until the window ends. */
  retry_after: number;
}

/**
 * The statement that counts one request against `key` (SQL text, e.g. `$1`) in the current fixed
 * window of `$window` seconds, returning `count` and `retry_after`. Written once here and also
 * embedded by the session lookup, which counts a signed-in user's state change in its own round trip.
 */
export const countHitSql = (key: string, window: string, from = "") => `
  INSERT INTO rate_limits (key, window_start, count)
  SELECT ${key}, to_timestamp(floor(extract(epoch FROM now()) / ${window}) * ${window}), 1 ${from}
  ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
  RETURNING count, ceil(extract(epoch FROM window_start) + ${window} - extract(epoch FROM now()))::int AS retry_after`;

/** The key of the per-user limit on state-changing API requests (also built in SQL: sessions.ts). */
export const API_KEY_PREFIX = "api:";
export const apiKey = (userId: string) => `${API_KEY_PREFIX}${userId}`;

/**
 * Requests that end sessions are never refused by the per-user limit: a user (or someone who
 * stole a session) who has used up the minute must still be able to sign out or revoke it.
 */
const ENDS_SESSIONS = /^\/auth\/(signout|signout-others|sessions\/[^/]+)\/?$/;
export const exemptFromApiLimit = (pathname: string): boolean => ENDS_SESSIONS.test(pathname);

/**
 * Fixed one-minute windows counted in PostgreSQL, so every workerd process and instance shares
 * them. Over the limit → 429 rate_limited with Retry-After; the first refusal in a window is
 * audited (not every one, so a flood does not become a flood of audit rows).
 */
export async function enforceRateLimit(ctx: AppContext, key: string, limit: number, userId: string | null = null): Promise<void> {
  const rows = await ctx.db().query<Hit>(countHitSql("$1", "$2"), [key, WINDOW_SECONDS]);
  await judgeHit(ctx, key, limit, userId, rows[0]!);
}

/** Refuses a request whose counted hit is over `limit` (see enforceRateLimit). */
export async function judgeHit(ctx: AppContext, key: string, limit: number, userId: string | null, hit: Hit): Promise<void> {
  const db = ctx.db();
  if (Math.random() < 0.01) {
    ctx.waitUntil(db.query("DELETE FROM rate_limits WHERE window_start < now() - interval '10 minutes'").then(() => {}, () => {}));
  }
  if (hit.count <= limit) return;
  if (hit.count === limit + 1) {
    await audit(db, ctx, "rate_limited", { userId, details: { key: key.split(":")[0], limit } });
  }
  const retryAfter = String(Math.max(1, hit.retry_after));
  throw new AppError("rate_limited", `Too many requests; try again in ${retryAfter} s`, undefined, { "Retry-After": retryAfter });
}
