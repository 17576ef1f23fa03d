// Waits that keep a test's steps on one side of a boundary the server's answers depend on: the
// rate limits' one-minute windows and a user's local midnight. A test that counts or dates things
// across several requests would otherwise fail when it happens to straddle one. The wait is
// bounded and happens only close to a boundary; it never stands in for synchronisation.
import { sql } from "./economy";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until PostgreSQL's current rate-limit window (a UTC minute) has at least `ms` left. */
export async function freshRateWindow(ms = 5_000): Promise<void> {
  const [row] = await sql<{ left: string }>("SELECT (60 - extract(epoch FROM clock_timestamp()) % 60) * 1000 AS left");
  const left = Number(row!.left);
  if (left < ms) await pause(left + 50);
}

/** Milliseconds until the next local midnight in `timezone` (null: UTC). */
function untilMidnight(timezone: string | null, now = new Date()): number {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: timezone ?? "UTC", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const elapsed = ((get("hour") * 60 + get("minute")) * 60 + get("second")) * 1000 + now.getMilliseconds();
  return 24 * 3600 * 1000 - elapsed;
}

/** Waits until no local midnight of these zones (null: UTC) is less than `ms` away. */
export async function awayFromLocalMidnight(timezones: Array<string | null>, ms = 10_000): Promise<void> {
  const wait = Math.max(0, ...timezones.map((tz) => untilMidnight(tz)).filter((left) => left < ms).map((left) => left + 50));
  if (wait > 0) await pause(wait);
}
