// Synchronisation on PostgreSQL's own lock table: a test that holds a lock on purpose waits until
// the statement it wants to race is really blocked on that lock, instead of sleeping and hoping.
import { withClient } from "./database";
import { databaseUrl } from "./env";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until a backend is waiting on a lock held by the backend `holderPid` (only `waiterPid`
 * when given) and returns the waiting backends' pids. Fails with a clear error after `timeoutMs`.
 */
export async function waitUntilBlockedBy(
  holderPid: number,
  { waiterPid = null, timeoutMs = 10_000, url = databaseUrl() }: { waiterPid?: number | null; timeoutMs?: number; url?: string } = {},
): Promise<number[]> {
  return withClient(url, async (c) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await c.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND $1::int = ANY (pg_blocking_pids(pid)) AND ($2::int IS NULL OR pid = $2::int)`,
        [holderPid, waiterPid],
      );
      if (rows.length > 0) return rows.map((r) => r.pid);
      if (Date.now() > deadline) {
        const { rows: seen } = await c.query(
          "SELECT pid, state, wait_event_type, wait_event, left(query, 120) AS query FROM pg_stat_activity WHERE pid = $1",
          [waiterPid],
        );
        throw new Error(
          `no backend${waiterPid === null ? "" : ` ${waiterPid}`} was waiting on a lock held by backend ${holderPid} ` +
            `within ${timeoutMs} ms${waiterPid === null ? "" : `; it was: ${JSON.stringify(seen[0] ?? "gone")}`}`,
        );
      }
      await pause(20);
    }
  });
}
