// SQL for blobs and the object-deletion queue. Every by-id statement carries the owner, so another
// user's id finds nothing (404), exactly like an id that does not exist.
import { utc } from "../../db/json";
import type { Sql } from "../../db/sql";
import { withUserLock } from "../../db/user-lock";
import type { BlobCategory } from "../../storage/mime";
import type { BlobRow } from "./schema";

// uploaded_at as every other timestamp goes out (microseconds; a JS Date would keep milliseconds).
const COLUMNS = `id, user_id, key, filename, mime_type, category, size_bytes, etag, status, metadata,
  ${utc("COALESCE(completed_at, created_at)")} AS uploaded_at`;

export interface NewBlob {
  id: string;
  userId: string;
  key: string;
  filename: string;
  mimeType: string;
  category: BlobCategory;
}

export async function insertPendingBlob(sql: Sql, b: NewBlob): Promise<BlobRow> {
  const rows = await sql.query<BlobRow>(
    `INSERT INTO blobs (id, user_id, key, filename, mime_type, category)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [b.id, b.userId, b.key, b.filename, b.mimeType, b.category],
  );
  return rows[0]!;
}

/**
 * The user's unexpired pending uploads, counted under a per-user lock held until the transaction
 * ends, so that concurrent callers (count, then insert) take turns and cannot pass a cap together.
 */
export async function lockedPendingCount(tx: Sql, userId: string): Promise<number> {
  const rows = await withUserLock(tx, "blobs.pending", userId, () =>
    tx.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM blobs WHERE user_id = $1 AND status = 'pending' AND created_at >= now() - interval '1 day'",
      [userId],
    ),
  );
  return rows[0]!.n;
}

export async function markBlobReady(
  sql: Sql,
  userId: string,
  id: string,
  done: { size: number; etag: string; metadata?: unknown },
): Promise<BlobRow | null> {
  const rows = await sql.query<BlobRow>(
    `UPDATE blobs SET status = 'ready', size_bytes = $3, etag = $4, completed_at = now(),
            metadata = COALESCE($5::jsonb, metadata)
     WHERE id = $1 AND user_id = $2
       -- An upload pending for over a day has expired, whether or not the sweep has removed it yet.
       AND (status = 'ready' OR created_at >= now() - interval '1 day')
     RETURNING ${COLUMNS}`,
    [id, userId, done.size, done.etag, done.metadata === undefined ? null : JSON.stringify(done.metadata)],
  );
  return rows[0] ?? null;
}

/** Any status; callers decide what a pending upload means for them. */
export async function findBlob(sql: Sql, userId: string, id: string): Promise<BlobRow | null> {
  const rows = await sql.query<BlobRow>(`SELECT ${COLUMNS} FROM blobs WHERE id = $1 AND user_id = $2`, [id, userId]);
  return rows[0] ?? null;
}

export async function listReadyBlobs(sql: Sql, userId: string, category: BlobCategory | null): Promise<BlobRow[]> {
  return sql.query<BlobRow>(
    `SELECT ${COLUMNS} FROM blobs
     WHERE user_id = $1 AND status = 'ready' AND ($2::text IS NULL OR category = $2)
     ORDER BY created_at DESC, id`,
    [userId, category],
  );
}

export async function readyBytes(sql: Sql, userId: string): Promise<number> {
  const rows = await sql.query<{ total: string | number }>(
    "SELECT COALESCE(SUM(size_bytes), 0) AS total FROM blobs WHERE user_id = $1 AND status = 'ready'",
    [userId],
  );
  return Number(rows[0]!.total);
}

/** Deletes the row; the trigger queues its key in blob_deletions in the same transaction. */
export async function deleteBlobRow(sql: Sql, userId: string, id: string): Promise<BlobRow | null> {
  const rows = await sql.query<BlobRow>(`DELETE FROM blobs WHERE id = $1 AND user_id = $2 RETURNING ${COLUMNS}`, [id, userId]);
  return rows[0] ?? null;
}

/** Pending uploads nobody completed within a day: deleted (and so queued for the bucket). */
export async function expirePendingBlobs(sql: Sql): Promise<number> {
  const rows = await sql.query("DELETE FROM blobs WHERE status = 'pending' AND created_at < now() - interval '1 day' RETURNING id");
  return rows.length;
}

/**
 * Claims up to `limit` due queue entries for one sweep: their not_before moves 15 minutes on (the
 * lease), so a sweep running at the same time takes others, and entries of a sweep that died come
 * due again. Returns the keys and the lease, which finishClaimedDeletions needs.
 */
export async function claimDueDeletions(sql: Sql, limit: number): Promise<{ keys: string[]; lease: string }> {
  const rows = await sql.query<{ key: string; lease: string }>(
    `UPDATE blob_deletions d SET not_before = now() + interval '15 minutes'
     FROM (SELECT key FROM blob_deletions WHERE not_before <= now() ORDER BY not_before LIMIT $1 FOR UPDATE SKIP LOCKED) due
     WHERE d.key = due.key
     RETURNING d.key, d.not_before::text AS lease`,
    [limit],
  );
  return { keys: rows.map((r) => r.key), lease: rows[0]?.lease ?? "" };
}

/**
 * A claimed object is gone: drop its entry, unless its not_before moved meanwhile (a failed delete
 * rescheduled by retryDeletionLater, or the lease ran out and another sweep claimed it).
 */
export async function finishClaimedDeletions(sql: Sql, keys: string[], lease: string): Promise<void> {
  if (keys.length === 0) return;
  await sql.query("DELETE FROM blob_deletions WHERE key = ANY($1::text[]) AND not_before = $2::timestamptz", [keys, lease]);
}

/** The object is gone: drop its queue entry, unless a late presigned PUT must still be waited out. */
export async function finishDeletions(sql: Sql, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await sql.query("DELETE FROM blob_deletions WHERE key = ANY($1::text[]) AND not_before <= now()", [keys]);
}

/** The store refused or failed: try again later, backing off up to an hour. */
export async function retryDeletionLater(sql: Sql, key: string, error: string): Promise<void> {
  await sql.query(
    `UPDATE blob_deletions SET attempts = attempts + 1, last_error = $2,
            not_before = now() + least(interval '1 hour', interval '1 minute' * power(2, attempts))
     WHERE key = $1`,
    [key, error.slice(0, 500)],
  );
}
