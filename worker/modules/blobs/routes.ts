// Blob endpoints, identical under /api/blobs and /blobs (spec §2.14), plus the storage sweep for
// admins. The pipeline has already answered 401 without a session and checked CSRF on POST/DELETE.
import type { IRequest } from "itty-router";
import { audit } from "../../auth/audit";
import { requireAdmin, requireUser } from "../../auth/authenticate";
import type { AuthUser } from "../../auth/user";
import type { AppContext } from "../../context";
import { AppError } from "../../http/errors";
import { parseRange } from "../../http/range";
import { json } from "../../http/response";
import { parseQuery } from "../../http/params";
import { parseBody } from "../../http/validate";
import type { AppRouter, Handler } from "../../router";
import { ObjectChanged, type ObjectBody } from "../../storage/blob-store";
import { contentDisposition, urlSafeFilename } from "../../storage/filename";
import { essence, withinLimit } from "../../storage/mime";
import { expiryTimestamp, formatBytes } from "./format";
import { findBlob, listReadyBlobs, readyBytes } from "./repo";
import { blobInfo, listQuery, uploadResult, uploadUrlBody, type BlobRow } from "./schema";
import {
  completeUpload,
  createPresignedBlob,
  notFound,
  PRESIGNED_GET_SECONDS,
  PRESIGNED_PUT_SECONDS,
  readyBlob,
  removeBlob,
  requireAllowedMime,
  sizeMessage,
} from "./service";
import { maybeSweep, sweepStorage } from "./sweep";
import { uploadFromRequest } from "./upload";

type BlobHandler = (req: IRequest, ctx: AppContext, user: AuthUser) => Promise<Response>;

/** Every blob route: a signed-in user, storage configured (else 503), and a chance to sweep. */
function blobRoute(fn: BlobHandler): Handler {
  return async (req, ctx) => {
    const user = await requireUser(ctx, req);
    ctx.storage();
    // Housekeeping must not delay this request: it runs after the response if one is due.
    ctx.waitUntil(maybeSweep(ctx));
    return fn(req, ctx, user);
  };
}

const expiresIn = (seconds: number) => expiryTimestamp(new Date(Date.now() + seconds * 1000));

/** Audio and raster images play or show in place; anything else downloads. */
function dispositionType(row: BlobRow): "inline" | "attachment" {
  return row.category === "audio" || (row.category === "images" && row.mime_type !== "image/svg+xml") ? "inline" : "attachment";
}

const upload: BlobHandler = async (req, ctx, user) => json(uploadResult(await uploadFromRequest(req, ctx, user)));

const uploadUrl: BlobHandler = async (req, ctx, user) => {
  const body = await parseBody(req, ctx, uploadUrlBody);
  const mime = essence(body.mime_type);
  requireAllowedMime(mime);
  if (body.size_bytes !== undefined && !withinLimit(mime, body.size_bytes)) {
    throw new AppError("validation_error", sizeMessage(body.size_bytes, mime), [{ field: "size_bytes", message: "exceeds the limit for this type" }]);
  }
  const row = await createPresignedBlob(ctx, user, mime, body.filename);
  const url = await ctx.storage().presignPut(row.key, { contentType: mime, contentLength: body.size_bytes, expiresInSeconds: PRESIGNED_PUT_SECONDS });
  const headers: Record<string, string> = { "Content-Type": mime };
  if (body.size_bytes !== undefined) headers["Content-Length"] = String(body.size_bytes);
  return json({ url, expires_at: expiresIn(PRESIGNED_PUT_SECONDS), method: "PUT", id: row.id, key: row.key, headers });
};

const list: BlobHandler = async (req, ctx, user) => {
  const query = parseQuery(req, listQuery);
  const category = query.category === undefined || query.category === "all" ? null : query.category;
  return json((await listReadyBlobs(ctx.db(), user.id, category)).map(blobInfo));
};

const usage: BlobHandler = async (_req, ctx, user) => {
  const total = await readyBytes(ctx.db(), user.id);
  return json({ total_bytes: total, formatted: formatBytes(total) });
};

/**
 * The row's object as it was stored. The presigned PUT URL stays valid a few minutes after
 * complete, so the object may have been replaced since (another size, other bytes): read only the
 * ETag recorded then; anything else is served as missing (404).
 */
async function storedObject(ctx: AppContext, row: BlobRow, range?: { start: number; end: number }): Promise<ObjectBody> {
  let object: ObjectBody | null;
  try {
    object = await ctx.storage().get(row.key, { range, ifMatch: row.etag || undefined });
  } catch (err) {
    if (!(err instanceof ObjectChanged)) throw err;
    ctx.log.warn("blob object replaced after it was stored", { request_id: ctx.requestId, key: row.key, etag: row.etag, found: err.found });
    throw notFound(row.id);
  }
  if (object === null) {
    // Deleted while we read it (the usual case), or an object lost from the bucket: only the
    // latter is worth a warning, or it drowns among the former.
    if ((await findBlob(ctx.db(), row.user_id, row.id)) !== null) {
      ctx.log.warn("blob row without its object", { request_id: ctx.requestId, key: row.key });
    }
    throw notFound(row.id);
  }
  return object;
}

/** Streams the object (or one byte range of it) from the store through to the client. */
const read: BlobHandler = async (req, ctx, user) => {
  const id = req.params.id ?? "";
  const row = await readyBlob(ctx, user, id);
  const size = Number(row.size_bytes);
  const range = parseRange(req.headers.get("Range"), size);
  if (range.kind === "unsatisfiable") {
    throw new AppError("range_not_satisfiable", `Range not satisfiable: the blob has ${size} bytes`, undefined, { "Content-Range": `bytes */${size}` });
  }
  const object = await storedObject(ctx, row, range.kind === "range" ? range : undefined);
  const headers = new Headers({
    "Content-Type": row.mime_type,
    // The store's body has a known length, so workerd sends it anyway; set here for HEAD as well.
    "Content-Length": String(object.length),
    "Accept-Ranges": "bytes",
    ETag: `"${row.etag ?? object.etag}"`,
    "Content-Disposition": contentDisposition(dispositionType(row), row.filename),
    "Cache-Control": "private, no-cache",
    // Served from the API's origin: never let a stored file (an SVG, say) run script there.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  });
  // The store's own span: it may send more than asked for, or ignore the range (200, everything).
  const sent = object.range;
  if (sent !== null) headers.set("Content-Range", `bytes ${sent.start}-${sent.end}/${sent.size}`);
  return new Response(object.body, { status: sent !== null ? 206 : 200, headers });
};

const info: BlobHandler = async (req, ctx, user) => json(blobInfo(await readyBlob(ctx, user, req.params.id ?? "")));

const downloadUrl: BlobHandler = async (req, ctx, user) => {
  const row = await readyBlob(ctx, user, req.params.id ?? "");
  const url = await ctx.storage().presignGet(row.key, {
    expiresInSeconds: PRESIGNED_GET_SECONDS,
    contentDisposition: `attachment; filename="${urlSafeFilename(row.filename)}"`,
  });
  return json({ url, expires_at: expiresIn(PRESIGNED_GET_SECONDS), method: "GET" });
};

const remove: BlobHandler = async (req, ctx, user) => {
  await removeBlob(ctx, user, req.params.id ?? "");
  return json({ success: true });
};

const complete: BlobHandler = async (req, ctx, user) => json(uploadResult(await completeUpload(ctx, user, req.params.id ?? "")));

export function blobRoutes(router: AppRouter): void {
  for (const prefix of ["/api/blobs", "/blobs"]) {
    // Static segments before /:id.
    router
      .post(`${prefix}/upload`, blobRoute(upload))
      .post(`${prefix}/upload-url`, blobRoute(uploadUrl))
      .get(prefix, blobRoute(list))
      .get(`${prefix}/usage`, blobRoute(usage))
      .get(`${prefix}/:id`, blobRoute(read))
      .delete(`${prefix}/:id`, blobRoute(remove))
      .get(`${prefix}/:id/info`, blobRoute(info))
      .get(`${prefix}/:id/download-url`, blobRoute(downloadUrl))
      .post(`${prefix}/:id/complete`, blobRoute(complete));
  }
  // Expires stale pending uploads and deletes queued objects now (see sweep.ts).
  router.post("/admin/storage/sweep", async (req, ctx) => {
    const admin = await requireAdmin(ctx, req);
    const result = await sweepStorage(ctx);
    await audit(ctx.db(), ctx, "admin_action", {
      userId: admin.id,
      sessionId: admin.sessionId,
      resourceType: "storage",
      action: "Admin ran the storage sweep",
      details: { ...result },
    });
    return json(result);
  });
}
