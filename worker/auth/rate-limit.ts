import type { AppContext } from "../context";
import { AppError } from "../http/errors";
import { audit } from "./audit";

const WINDOW_SECONDS = 60;

/**
 * Fixed one-minute windows counted in PostgreSQL, so every workerd process and instance shares
 * them. Over the limit → 429 rate_limited with Retry-After; the first refusal in a window is
 * audited (not every one, so a flood does not become a flood of audit rows).
 */
export async function enforceRateLimit(ctx: AppContext, key: string, limit: number, userId: string | null = null): Promise<void> {
  const db = ctx.db();
  const rows = await db.query<{ count: number; retry_after: number }>(
    `INSERT INTO rate_limits (key, window_start, count)
     VALUES ($1, to_timestamp(floor(extract(epoch FROM now()) / $2) * $2), 1)
     ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
     RETURNING count, ceil(extract(epoch FROM window_start) + $2 - extract(epoch FROM now()))::int AS retry_after`,
    [key, WINDOW_SECONDS],
  );
  const { count, retry_after } = rows[0]!;
  if (Math.random() < 0.01) {
    await db.query("DELETE FROM rate_limits WHERE window_start < now() - interval '10 minutes'");
  }
  if (count <= limit) return;
  if (count === limit + 1) {
    await audit(db, ctx, "rate_limited", { userId, details: { key: key.split(":")[0], limit } });
  }
  const retryAfter = String(Math.max(1, retry_after));
  throw new AppError("rate_limited", `Too many requests; try again in ${retryAfter} s`, undefined, { "Retry-After": retryAfter });
}
