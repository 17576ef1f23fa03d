// The blob MIME rules of spec §2.14: the allow-list (exact match), the category each type is
// filed under, the key extension, and the per-category size limits (inclusive).

export type BlobCategory = "audio" | "images" | "exports" | "other";

export const BLOB_CATEGORIES: readonly BlobCategory[] = ["audio", "images", "exports", "other"];

const MiB = 1024 * 1024;

/** Largest object per category; a file of exactly this size is allowed. */
export const MAX_BYTES: Record<BlobCategory, number> = {
  audio: 50 * MiB,
  images: 10 * MiB,
  exports: 100 * MiB,
  other: 100 * MiB,
};

/** The largest of all limits: a body longer than this cannot be a valid upload of any type. */
export const MAX_UPLOAD_BYTES = Math.max(...Object.values(MAX_BYTES));

/** Allowed type → key extension. Anything not listed is refused. */
const EXTENSIONS: Record<string, string> = {
  "audio/mpeg": "mp3",
  "audio/mp3": "mp3",
  "audio/wav": "wav",
  "audio/wave": "wav",
  "audio/x-wav": "wav",
  "audio/ogg": "ogg",
  "audio/flac": "flac",
  "audio/aac": "aac",
  "audio/m4a": "m4a",
  "audio/x-m4a": "m4a",
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/svg+xml": "svg",
  "application/pdf": "pdf",
  "application/json": "json",
  "text/plain": "txt",
  "application/zip": "zip",
  "application/x-zip-compressed": "zip",
};

export const ALLOWED_MIME_TYPES: readonly string[] = Object.keys(EXTENSIONS);

/** The bare media type of a Content-Type value: lower case, parameters (charset…) dropped. */
export function essence(contentType: string): string {
  return contentType.split(";")[0]!.trim().toLowerCase();
}

export function isAllowedMime(mime: string): boolean {
  return Object.hasOwn(EXTENSIONS, mime);
}

export function categoryOf(mime: string): BlobCategory {
  if (mime.startsWith("audio/")) return "audio";
  if (mime.startsWith("image/")) return "images";
  if (mime === "application/zip" || mime === "application/x-zip-compressed") return "exports";
  return "other";
}

export function extensionOf(mime: string): string {
  return Object.hasOwn(EXTENSIONS, mime) ? EXTENSIONS[mime]! : "bin";
}

export function maxBytesFor(mime: string): number {
  return MAX_BYTES[categoryOf(mime)];
}

/** Inclusive: exactly the limit is fine, one byte more is not. */
export function withinLimit(mime: string, size: number): boolean {
  return size >= 0 && size <= maxBytesFor(mime);
}

export function isCategory(value: string): value is BlobCategory {
  return (BLOB_CATEGORIES as readonly string[]).includes(value);
}
