// Synchronisation on PostgreSQL's own lock table: a test that holds a lock on purpose waits until
// the statement it wants to race is really blocked on that lock, instead of sleeping and hoping.
import { withClient } from "./database";
import { databaseUrl } from "./env";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until a backend is waiting on a lock held by the backend `holderPid` (only `waiterPid`
 * when given; at least `atLeast` backends; with `indirect`, also counting backends that wait on
 * one that waits on the holder) and returns the waiting backends' pids. Fails with a clear error
 * after `timeoutMs`.
 */
export async function waitUntilBlockedBy(
  holderPid: number,
  {
    waiterPid = null,
    atLeast = 1,
    indirect = false,
    timeoutMs = 10_000,
    url = databaseUrl(),
  }: { waiterPid?: number | null; atLeast?: number; indirect?: boolean; timeoutMs?: number; url?: string } = {},
): Promise<number[]> {
  return withClient(url, async (c) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await c.query<{ pid: number }>(
        `WITH RECURSIVE waiting(pid) AS (
           SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $1::int = ANY (pg_blocking_pids(pid))
           UNION
           SELECT a.pid FROM pg_stat_activity a JOIN waiting w ON w.pid = ANY (pg_blocking_pids(a.pid)) WHERE $3::boolean)
         SELECT pid FROM waiting WHERE $2::int IS NULL OR pid = $2::int`,
        [holderPid, waiterPid, indirect],
      );
      if (rows.length >= atLeast) return rows.map((r) => r.pid);
      if (Date.now() > deadline) {
        const { rows: seen } = await c.query(
          "SELECT pid, state, wait_event_type, wait_event, left(query, 120) AS query FROM pg_stat_activity WHERE pid = $1",
          [waiterPid],
        );
        throw new Error(
          `${atLeast > 1 ? `fewer than ${atLeast} backends were` : `no backend${waiterPid === null ? "" : ` ${waiterPid}`} was`} waiting on a lock held by backend ${holderPid} ` +
            `within ${timeoutMs} ms${waiterPid === null ? "" : `; it was: ${JSON.stringify(seen[0] ?? "gone")}`}`,
        );
      }
      await pause(20);
    }
  });
}
