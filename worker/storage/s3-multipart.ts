// Uploads a body of unknown length (a multipart/form-data file part, a chunked request) without
// holding more than one part in memory: bytes are read straight into one reused part buffer,
// counted as they arrive, and sent in parts of PART_SIZE with S3 multipart upload. A body that fits in one part is a single PUT. Over
// the limit, the upload is aborted, so no object (partial or whole) appears under the key.
import type { PutOptions } from "./blob-store";
import { ObjectTooLarge } from "./blob-store";
import { StreamFiller } from "../http/stream-filler";
import { type S3BlobStore, unexpected, unquote } from "./s3";

/** S3's minimum part size; R2 also wants every part but the last to be the same size. */
export const PART_SIZE = 5 * 1024 * 1024;
const GROW_STEP = 1024 * 1024;

/**
 * One part's bytes, filled straight from the stream (see StreamFiller). It starts at 64 KiB, since
 * most uploads are small, grows to 1 MiB, then to a whole part, reused for every part.
 */
class PartBuffer {
  bytes = new Uint8Array(64 * 1024);
  filled = 0;
  /** Where a read goes when the buffer is full, so that finding the end never grows the buffer. */
  private spare: ArrayBuffer | null = null;

  /** One read from the stream into the free space; false once the stream has ended. */
  async fillFrom(source: StreamFiller): Promise<boolean> {
    if (this.filled < this.bytes.byteLength) {
      const capacity = this.bytes.byteLength;
      const got = await source.fill(this.bytes.subarray(this.filled));
      this.bytes = new Uint8Array(got.buffer, 0, capacity);
      this.filled += got.n;
      return !got.done;
    }
    this.spare ??= new ArrayBuffer(64 * 1024);
    const got = await source.fill(new Uint8Array(this.spare));
    this.spare = got.buffer;
    if (got.done) return false;
    // 64 KiB → 1 MiB → a whole part: doubling all the way left ~2.5 parts of garbage behind.
    const grown = new Uint8Array(this.bytes.byteLength < GROW_STEP ? GROW_STEP : PART_SIZE);
    grown.set(this.bytes.subarray(0, this.filled));
    grown.set(new Uint8Array(got.buffer, 0, got.n), this.filled);
    this.bytes = grown;
    this.filled += got.n;
    return true;
  }

  get full(): boolean {
    return this.filled === PART_SIZE;
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.filled);
  }
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

async function create(store: S3BlobStore, key: string, contentType: string): Promise<string> {
  const url = store.objectUrl(key);
  url.search = "uploads";
  const res = await store.send({ method: "POST", url, headers: { "Content-Type": contentType }, timeoutMs: 15_000 });
  if (!res.ok) throw await unexpected(res, "CreateMultipartUpload");
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await res.text())?.[1];
  if (!uploadId) throw await unexpected(res, "CreateMultipartUpload without UploadId");
  return uploadId;
}

async function uploadPart(store: S3BlobStore, key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<string> {
  const url = store.objectUrl(key);
  url.searchParams.set("partNumber", String(partNumber));
  url.searchParams.set("uploadId", uploadId);
  const res = await store.send({ method: "PUT", url, body: bytes });
  if (!res.ok) throw await unexpected(res, "UploadPart");
  await res.body?.cancel();
  return unquote(res.headers.get("ETag"));
}

async function complete(store: S3BlobStore, key: string, uploadId: string, etags: string[]): Promise<string> {
  const url = store.objectUrl(key);
  url.searchParams.set("uploadId", uploadId);
  const parts = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${xmlEscape(etag)}"</ETag></Part>`);
  const body = `<CompleteMultipartUpload>${parts.join("")}</CompleteMultipartUpload>`;
  const res = await store.send({ method: "POST", url, headers: { "Content-Type": "application/xml" }, body, timeoutMs: 60_000 });
  const text = res.ok ? await res.text() : "";
  // S3 may answer 200 and still report an error in the body.
  if (!res.ok || text.includes("<Error>")) throw await unexpected(res.ok ? new Response(text, { status: 500 }) : res, "CompleteMultipartUpload");
  return unquote(/<ETag>([^<]*)<\/ETag>/.exec(text)?.[1] ?? "");
}

/** Best effort: the store's own lifecycle rules clear parts of uploads nobody aborted. */
async function abort(store: S3BlobStore, key: string, uploadId: string): Promise<void> {
  const url = store.objectUrl(key);
  url.searchParams.set("uploadId", uploadId);
  const res = await store.send({ method: "DELETE", url, timeoutMs: 15_000 }).catch(() => null);
  await res?.body?.cancel();
}

export async function putInParts(store: S3BlobStore, key: string, body: ReadableStream<Uint8Array>, opts: PutOptions): Promise<{ size: number; etag: string }> {
  const source = new StreamFiller(body);
  const etags: string[] = [];
  const part = new PartBuffer();
  let uploadId: string | null = null;
  let sent = 0;
  try {
    for (let more = true; more; ) {
      more = await part.fillFrom(source);
      if (sent + part.filled > opts.maxBytes) throw new ObjectTooLarge(opts.maxBytes, sent + part.filled);
      if (part.full) {
        uploadId ??= await create(store, key, opts.contentType);
        etags.push(await uploadPart(store, key, uploadId, etags.length + 1, part.view()));
        sent += part.filled;
        part.filled = 0; // the part was sent (awaited), so its buffer can be refilled
      }
    }
    if (uploadId === null) return await store.putBytes(key, part.view(), opts.contentType);
    if (part.filled > 0) etags.push(await uploadPart(store, key, uploadId, etags.length + 1, part.view()));
    return { size: sent + part.filled, etag: await complete(store, key, uploadId, etags) };
  } catch (err) {
    source.release(); // the caller decides what happens to the rest of the body
    if (uploadId !== null) await abort(store, key, uploadId);
    throw err;
  }
}
