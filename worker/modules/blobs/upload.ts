// POST /upload: either multipart/form-data with a `file` part (and optional `metadata` JSON), or
// the file itself as the body with its Content-Type (and `?filename=`). Neither is buffered: a
// raw body with Content-Length streams to the store in one PUT; a multipart file part (whose
// length is unknown until its end) streams in parts. Both count bytes against the type's limit.
import type { AuthUser } from "../../auth/user";
import type { AppContext } from "../../context";
import { discardBody } from "../../http/body";
import { AppError } from "../../http/errors";
import { storable } from "../../http/fields";
import { multipartBoundary, MultipartReader, partText, type MultipartPart } from "../../http/multipart";
import { essence, MAX_UPLOAD_BYTES } from "../../storage/mime";
import type { BlobRow } from "./schema";
import { discardQuietly, finishUpload, storeUpload } from "./service";

const MAX_METADATA_BYTES = 16 * 1024;
/** Room for part headers and boundaries around the largest allowed file. */
const MULTIPART_OVERHEAD = 64 * 1024;
/**
 * A refused upload's remaining body is read and dropped (see discardBody) so that the client reads
 * our answer rather than a reset connection; anything longer was already refused unread.
 */
const DRAIN_BYTES = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD;

function declaredLength(request: Request): number | null {
  const raw = request.headers.get("Content-Length");
  return raw !== null && /^\d+$/.test(raw) ? Number(raw) : null;
}

/**
 * Deeper metadata is refused (422): nothing needs it, and what handles it after us (JSON.stringify,
 * PostgreSQL's jsonb) recurses over it. Our own walk uses an explicit stack for the same reason.
 */
const MAX_METADATA_DEPTH = 32;

/** Why the value cannot be stored, or null. jsonb refuses NUL and unpaired surrogates in strings and keys. */
function metadataProblem(root: unknown): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, depth } = item;
    if (typeof value === "string") {
      if (!storable(value)) return "must not contain NUL characters or unpaired surrogates";
    } else if (typeof value === "object" && value !== null) {
      if (depth > MAX_METADATA_DEPTH) return `must not be nested more than ${MAX_METADATA_DEPTH} levels deep`;
      for (const [k, v] of Object.entries(value)) {
        if (!Array.isArray(value)) stack.push({ value: k, depth });
        stack.push({ value: v, depth: depth + 1 });
      }
    }
  }
  return null;
}

function parseMetadata(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AppError("validation_error", "metadata must be a JSON object", [{ field: "metadata", message: "must be a JSON object" }]);
  }
  const problem = metadataProblem(value);
  if (problem !== null) throw new AppError("validation_error", `metadata ${problem}`, [{ field: "metadata", message: problem }]);
  return value as Record<string, unknown>;
}

function fileMime(part: MultipartPart): string {
  return essence(part.contentType ?? "application/octet-stream");
}

async function rawUpload(request: Request, ctx: AppContext, user: AuthUser): Promise<BlobRow> {
  const length = declaredLength(request);
  if (request.body === null || length === 0) throw new AppError("bad_request", "No file provided");
  const mime = essence(request.headers.get("Content-Type") ?? "application/octet-stream");
  const filename = new URL(request.url).searchParams.get("filename");
  let stored: BlobRow;
  try {
    stored = await storeUpload(ctx, user, { mime, filename, length }, request.body);
  } catch (err) {
    await discardBody(request.body, DRAIN_BYTES); // unless it was already streamed to the store
    throw err;
  }
  return finishOrDiscard(ctx, stored);
}

/** Makes a stored upload visible; if that fails, the object and its row go, not left pending. */
async function finishOrDiscard(ctx: AppContext, stored: BlobRow, metadata?: Record<string, unknown>): Promise<BlobRow> {
  try {
    return await finishUpload(ctx, stored, metadata);
  } catch (err) {
    await discardQuietly(ctx, stored);
    throw err;
  }
}

async function multipartUpload(request: Request, ctx: AppContext, user: AuthUser, boundary: string): Promise<BlobRow> {
  if (request.body === null) throw new AppError("bad_request", "No file provided");
  const form = new MultipartReader(request.body, boundary, DRAIN_BYTES);
  let metadata: Record<string, unknown> | undefined;
  let stored: BlobRow | null = null;
  try {
    for (let part = await form.next(); part !== null; part = await form.next()) {
      if (part.name === "metadata" && part.filename === null) {
        metadata = parseMetadata(await partText(part, MAX_METADATA_BYTES));
      } else if (part.name === "file" && stored === null && part.filename !== "") {
        // An empty filename is a file input left empty; other parts are skipped by next().
        stored = await storeUpload(ctx, user, { mime: fileMime(part), filename: part.filename, length: null }, part.body);
      }
    }
  } catch (err) {
    await form.drain(DRAIN_BYTES);
    if (stored !== null) await discardQuietly(ctx, stored);
    throw err;
  }
  if (stored === null) throw new AppError("bad_request", "No file provided");
  return finishOrDiscard(ctx, stored, metadata);
}

export async function uploadFromRequest(request: Request, ctx: AppContext, user: AuthUser): Promise<BlobRow> {
  const type = request.headers.get("Content-Type");
  const length = declaredLength(request);
  // Nothing that long can be a valid upload of any type: refuse before reading a byte.
  if (length !== null && length > DRAIN_BYTES) {
    throw new AppError("payload_too_large", `Request body of ${length} bytes exceeds the largest allowed upload (${MAX_UPLOAD_BYTES} bytes)`);
  }
  const boundary = multipartBoundary(type);
  if (boundary !== null) return multipartUpload(request, ctx, user, boundary);
  if (type !== null && /^\s*multipart\//i.test(type)) {
    await discardBody(request.body, DRAIN_BYTES);
    throw new AppError("bad_request", "multipart/form-data without a boundary");
  }
  return rawUpload(request, ctx, user);
}
