// Request and response shapes of the blob endpoints (spec §2.14, with the §7.15 gaps filled:
// upload-url also returns id and key, and the original filename is kept).
import { z } from "zod";
import type { BlobCategory } from "../../storage/mime";

export const uploadUrlBody = z.object({
  filename: z.string().min(1).max(1024),
  mime_type: z.string().trim().min(1).max(255),
  /** Optional: when given, it is checked now and signed into the URL (the PUT must match it). */
  size_bytes: z.number().int().nonnegative().optional(),
});

/** `?category=`: one of the four, or absent/"all" for everything. */
export const listQuery = z.object({
  category: z.enum(["audio", "images", "exports", "other", "all"]).optional(),
});

/** A blobs row as the driver returns it. */
export interface BlobRow {
  id: string;
  user_id: string;
  key: string;
  filename: string;
  mime_type: string;
  category: BlobCategory;
  size_bytes: string | number | null;
  etag: string | null;
  status: "pending" | "ready";
  metadata: unknown;
  /** completed_at, or created_at while pending: RFC 3339 UTC with microseconds (spec §2.10). */
  uploaded_at: string;
}

/** What POST /upload and POST /{id}/complete answer. */
export function uploadResult(row: BlobRow) {
  return {
    id: row.id,
    key: row.key,
    size_bytes: Number(row.size_bytes ?? 0),
    mime_type: row.mime_type,
    category: row.category,
    filename: row.filename,
  };
}

/** BlobInfo: GET /{id}/info and each entry of GET /. */
export function blobInfo(row: BlobRow) {
  return {
    ...uploadResult(row),
    uploaded_at: row.uploaded_at,
    etag: row.etag,
    metadata: row.metadata ?? null,
  };
}
