// Blob rules: which uploads are accepted, how a pending upload becomes ready, how a blob is read,
// signed and deleted. Object and row always move together: a row exists before its object is
// written, and a deleted row queues its object's deletion (trigger), so the bucket never keeps an
// object nobody can find.
import type { AuthUser } from "../../auth/user";
import type { AppContext } from "../../context";
import { AppError } from "../../http/errors";
import { ObjectTooLarge } from "../../storage/blob-store";
import { sanitizeFilename } from "../../storage/filename";
import { blobKey } from "../../storage/keys";
import { idParam } from "../../http/params";
import { categoryOf, essence, extensionOf, isAllowedMime, maxBytesFor, withinLimit } from "../../storage/mime";
import { deleteBlobRow, findBlob, finishDeletions, insertPendingBlob, lockedPendingCount, markBlobReady, type NewBlob } from "./repo";
import type { BlobRow } from "./schema";

/** Presigned URL lifetimes (spec §2.14). */
export const PRESIGNED_GET_SECONDS = 3600;
export const PRESIGNED_PUT_SECONDS = 300;

/** How long a presigned upload may stay pending (the sweep and markBlobReady use the same day). */
const PENDING_LIFETIME_MS = 24 * 60 * 60 * 1000;

export function notFound(id: string): AppError {
  return new AppError("not_found", `Blob ${id} not found`);
}

/** 422 unless the type is on the allow-list (exact match on the bare type). */
export function requireAllowedMime(mime: string): void {
  if (!isAllowedMime(mime)) throw new AppError("validation_error", `MIME type ${mime} not allowed`, [{ field: "mime_type", message: "not an allowed type" }]);
}

export function sizeMessage(size: number | null, mime: string): string {
  const max = maxBytesFor(mime);
  return size === null ? `File size exceeds maximum ${max} for type ${mime}` : `File size ${size} exceeds maximum ${max} for type ${mime}`;
}

/** A request body over the limit: 413 (the upload itself is too large). */
export function uploadTooLarge(size: number | null, mime: string): AppError {
  return new AppError("payload_too_large", sizeMessage(size, mime));
}

/**
 * Presigned uploads one user may have pending at once. An unsized upload URL takes an object of
 * any size the store allows until complete (or the day's expiry) deletes it, so their number is
 * what bounds a user's uncounted bytes in the bucket.
 */
const MAX_PENDING_UPLOADS = 20;

function newBlob(user: AuthUser, mime: string, filename: string | null): NewBlob {
  requireAllowedMime(mime);
  const id = crypto.randomUUID();
  return {
    id,
    userId: user.id,
    key: blobKey(user.id, id, mime),
    filename: sanitizeFilename(filename) ?? `file.${extensionOf(mime)}`,
    mimeType: mime,
    category: categoryOf(mime),
  };
}

/** The pending row for upload-url: 409 when the user already has MAX_PENDING_UPLOADS in progress. */
export async function createPresignedBlob(ctx: AppContext, user: AuthUser, mime: string, filename: string): Promise<BlobRow> {
  const blob = newBlob(user, mime, filename);
  return ctx.db().transaction(async (tx) => {
    if ((await lockedPendingCount(tx, user.id)) >= MAX_PENDING_UPLOADS) {
      throw new AppError(
        "conflict",
        `Too many uploads in progress: at most ${MAX_PENDING_UPLOADS} uploads may be pending at once ` +
          "(uploads still being sent count too). Complete or cancel (DELETE /api/blobs/{id}) one first; " +
          "unfinished uploads expire after a day",
      );
    }
    return insertPendingBlob(tx, blob);
  });
}

/** Deletes an object whose row is gone; if the store fails, the queued deletion stays for the sweep. */
async function deleteObjectNow(ctx: AppContext, key: string): Promise<void> {
  try {
    await ctx.storage().delete(key);
    await finishDeletions(ctx.db(), [key]);
  } catch (err) {
    ctx.log.warn("object deletion deferred to the storage sweep", { request_id: ctx.requestId, key, error: String((err as { cause?: unknown }).cause ?? err) });
  }
}

/** Removes a row and its object now (a failed or refused upload). */
async function discardBlob(ctx: AppContext, row: BlobRow): Promise<void> {
  await deleteBlobRow(ctx.db(), row.user_id, row.id);
  await deleteObjectNow(ctx, row.key);
}

/** Cleanup after a failure must not replace the error the client should see. */
export async function discardQuietly(ctx: AppContext, row: BlobRow): Promise<void> {
  try {
    await discardBlob(ctx, row);
  } catch (err) {
    ctx.log.warn("could not discard a failed upload (the sweep will)", { request_id: ctx.requestId, blob_id: row.id, error: String(err) });
  }
}

/** DELETE /{id}: the caller's blob in any state (a pending one is a cancelled upload). */
export async function removeBlob(ctx: AppContext, user: AuthUser, id: string): Promise<void> {
  const row = await deleteBlobRow(ctx.db(), user.id, idParam(id, notFound(id).message));
  if (row === null) throw notFound(id);
  await deleteObjectNow(ctx, row.key);
}

/**
 * Streams `body` to the store under a new pending row, then marks it ready. Over the type's limit
 * (declared or counted while streaming) → 413, and neither row nor object remains.
 */
export async function storeUpload(
  ctx: AppContext,
  user: AuthUser,
  file: { mime: string; filename: string | null; length: number | null },
  body: ReadableStream<Uint8Array>,
): Promise<BlobRow> {
  const blob = newBlob(user, file.mime, file.filename); // the allow-list first
  const max = maxBytesFor(file.mime);
  if (file.length !== null && !withinLimit(file.mime, file.length)) throw uploadTooLarge(file.length, file.mime);
  // The pending row (and so the key) first: an object is never written without one.
  const row = await insertPendingBlob(ctx.db(), blob);
  try {
    const stored = await ctx.storage().put(row.key, body, { contentType: file.mime, length: file.length, maxBytes: max });
    return { ...row, size_bytes: stored.size, etag: stored.etag };
  } catch (err) {
    await discardQuietly(ctx, row);
    if (err instanceof ObjectTooLarge) throw uploadTooLarge(file.length, file.mime);
    throw err;
  }
}

export async function finishUpload(ctx: AppContext, row: BlobRow, metadata?: unknown): Promise<BlobRow> {
  const ready = await markBlobReady(ctx.db(), row.user_id, row.id, { size: Number(row.size_bytes), etag: row.etag ?? "", metadata });
  if (ready === null) throw notFound(row.id); // deleted meanwhile (user deleted, concurrent DELETE) or expired
  return ready;
}

/** A blob of the caller's in any state; 404 for malformed ids, other users' ids and unknown ids. */
export async function ownedBlob(ctx: AppContext, user: AuthUser, id: string): Promise<BlobRow> {
  const row = await findBlob(ctx.db(), user.id, idParam(id, notFound(id).message));
  if (row === null) throw notFound(id);
  return row;
}

/** Only finished uploads can be read, listed or signed for download. */
export async function readyBlob(ctx: AppContext, user: AuthUser, id: string): Promise<BlobRow> {
  const row = await ownedBlob(ctx, user, id);
  if (row.status !== "ready") throw notFound(id);
  return row;
}

/**
 * POST /{id}/complete: the presigned PUT must have landed with an allowed size and the signed
 * type. A bad object is deleted with its row (422); a missing one is 409 (PUT it first).
 */
export async function completeUpload(ctx: AppContext, user: AuthUser, id: string): Promise<BlobRow> {
  const row = await ownedBlob(ctx, user, id);
  if (row.status === "ready") return row; // idempotent
  const info = await ctx.storage().head(row.key);
  if (info === null) {
    // Deleted since we read it, or expired (a day, even before the sweep removes it): gone, not
    // "not uploaded yet", which would invite a PUT of an object nothing would keep.
    if (Date.parse(row.uploaded_at) < Date.now() - PENDING_LIFETIME_MS) throw notFound(id); // uploaded_at: created_at while pending
    if ((await findBlob(ctx.db(), user.id, row.id)) === null) throw notFound(id);
    throw new AppError("conflict", `Blob ${id} has not been uploaded yet: PUT it to the upload URL first`);
  }
  const type = essence(info.contentType ?? "");
  const problem =
    !withinLimit(row.mime_type, info.size)
      ? sizeMessage(info.size, row.mime_type)
      : type !== row.mime_type
        ? `Uploaded type ${type || "(none)"} does not match ${row.mime_type}`
        : null;
  if (problem !== null) {
    await discardBlob(ctx, row);
    throw new AppError("validation_error", problem);
  }
  return finishUpload(ctx, { ...row, size_bytes: info.size, etag: info.etag });
}
