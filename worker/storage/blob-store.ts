// The seam between the blob module and object storage. One implementation today (s3.ts: the S3
// API through aws4fetch, for R2, MinIO and other S3-compatible servers).

export interface ObjectInfo {
  size: number;
  /** Without the surrounding quotes S3 puts on it. */
  etag: string;
  contentType: string | null;
  lastModified: Date | null;
}

export interface ObjectBody {
  body: ReadableStream<Uint8Array>;
  /** Bytes in this response (the span's length for a partial read). */
  length: number;
  etag: string;
  /**
   * The span the store sent, from its own Content-Range, when it answered with 206 (it may differ
   * from the range asked for); null when it sent the whole object.
   */
  range: { start: number; end: number; size: number } | null;
}

export interface GetOptions {
  /** Inclusive byte range. */
  range?: { start: number; end: number };
  /** The ETag (unquoted) the object must still have; otherwise get() throws ObjectChanged. */
  ifMatch?: string;
}

export interface PutOptions {
  contentType: string;
  /** Exact byte count when known (streamed in one PUT); null streams in parts of unknown total. */
  length: number | null;
  /** Refuse (and leave nothing stored) once more than this many bytes have been read. */
  maxBytes: number;
}

export interface PresignPutOptions {
  contentType: string;
  /** When given, the upload must have exactly this Content-Length (it is signed). */
  contentLength?: number;
  expiresInSeconds: number;
}

export interface PresignGetOptions {
  expiresInSeconds: number;
  /** Content-Disposition the store should answer with (response-content-disposition). */
  contentDisposition?: string;
}

/** Thrown by put() when the body passes maxBytes; nothing is left stored under the key. */
export class ObjectTooLarge extends Error {
  constructor(readonly maxBytes: number, readonly seenBytes: number) {
    super(`object exceeds ${maxBytes} bytes`);
    this.name = "ObjectTooLarge";
  }
}

/** Thrown by get() when the object under the key is no longer the one with the ETag asked for. */
export class ObjectChanged extends Error {
  constructor(readonly expected: string, readonly found: string | null) {
    super(`object changed: ETag ${found ?? "(unknown)"} instead of ${expected}`);
    this.name = "ObjectChanged";
  }
}

export interface BlobStore {
  put(key: string, body: ReadableStream<Uint8Array>, opts: PutOptions): Promise<{ size: number; etag: string }>;
  /** The object, or a byte range of it; null when the key does not exist. */
  get(key: string, opts?: GetOptions): Promise<ObjectBody | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  presignPut(key: string, opts: PresignPutOptions): Promise<string>;
  presignGet(key: string, opts: PresignGetOptions): Promise<string>;
  /** Throws unless the bucket answers with our credentials. */
  ping(): Promise<void>;
}
