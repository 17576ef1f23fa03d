// Object keys: `{user_uuid}/{category}/{blob_uuid}.{ext}` (spec §2.14). The key is derived from
// values the API chose, never from client input, so it needs no escaping.
import { categoryOf, extensionOf, isCategory, type BlobCategory } from "./mime";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function blobKey(userId: string, blobId: string, mime: string): string {
  if (!isUuid(userId) || !isUuid(blobId)) throw new Error("blob keys are built from lowercase UUIDs");
  return `${userId}/${categoryOf(mime)}/${blobId}.${extensionOf(mime)}`;
}

export interface ParsedKey {
  userId: string;
  category: BlobCategory;
  blobId: string;
  extension: string;
}

/** The parts of a well-formed key, or null for anything else. */
export function parseBlobKey(key: string): ParsedKey | null {
  const m = /^([^/]+)\/([^/]+)\/([^/.]+)\.([a-z0-9]+)$/.exec(key);
  if (!m || !isUuid(m[1]!) || !isCategory(m[2]!) || !isUuid(m[3]!)) return null;
  return { userId: m[1]!, category: m[2] as BlobCategory, blobId: m[3]!, extension: m[4]! };
}
