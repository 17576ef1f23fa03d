// Storage housekeeping. workerd has no cron when self-hosted, so the sweep runs opportunistically
// (at most every SWEEP_INTERVAL_MS per process, on a blob request) and on demand through
// POST /admin/storage/sweep. It expires pending uploads older than a day and deletes the objects
// queued in blob_deletions: those of deleted blobs, expired uploads and deleted users (the users
// cascade deletes their rows; the trigger queues the keys).
import type { AppContext } from "../../context";
import { describeError } from "../../observability/logger";
import { claimDueDeletions, expirePendingBlobs, finishClaimedDeletions, retryDeletionLater } from "./repo";

export const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const OPPORTUNISTIC_LIMIT = 25;
const CONCURRENCY = 4;

export interface SweepResult {
  expired_uploads: number;
  deleted_objects: number;
  failed_objects: number;
}

export async function sweepStorage(ctx: AppContext, limit = 200): Promise<SweepResult> {
  const db = ctx.db();
  const store = ctx.storage();
  const expired = await expirePendingBlobs(db);
  const { keys, lease } = await claimDueDeletions(db, limit);
  const deleted: string[] = [];
  let failed = 0;
  for (let i = 0; i < keys.length; i += CONCURRENCY) {
    await Promise.all(
      keys.slice(i, i + CONCURRENCY).map(async (key) => {
        try {
          await store.delete(key);
          deleted.push(key);
        } catch (err) {
          failed++;
          await retryDeletionLater(db, key, String((err as { cause?: unknown }).cause ?? err));
        }
      }),
    );
  }
  await finishClaimedDeletions(db, deleted, lease);
  return { expired_uploads: expired, deleted_objects: deleted.length, failed_objects: failed };
}

let lastSweep = 0;

/** Runs a small sweep when this process has not swept for a while; never fails the request. */
export async function maybeSweep(ctx: AppContext): Promise<void> {
  const now = Date.now();
  if (now - lastSweep < SWEEP_INTERVAL_MS || ctx.config.storage === null) return;
  lastSweep = now;
  try {
    const result = await sweepStorage(ctx, OPPORTUNISTIC_LIMIT);
    if (result.expired_uploads + result.deleted_objects + result.failed_objects > 0) {
      ctx.log.info("storage sweep", { request_id: ctx.requestId, ...result });
    }
  } catch (err) {
    ctx.log.warn("storage sweep failed", { request_id: ctx.requestId, ...describeError(err) });
  }
}
