// BlobStore on the S3 API with aws4fetch: path-style URLs ({endpoint}/{bucket}/{key}), so one
// code path serves R2 (region "auto"), MinIO and other S3-compatible servers.
//
// Bodies are never hashed: every request carries X-Amz-Content-Sha256: UNSIGNED-PAYLOAD, which lets
// an upload stream from the client to the store. S3 refuses chunked PUTs, so a streamed PUT must
// have a known length: FixedLengthStream gives workerd the Content-Length and fails the upload if
// the body turns out shorter or longer. Bodies of unknown length go up in parts (s3-multipart.ts).
import { AwsV4Signer } from "aws4fetch";
import type { StorageConfig } from "../config";
import { AppError } from "../http/errors";
import type { BlobStore, GetOptions, ObjectBody, ObjectInfo, PresignGetOptions, PresignPutOptions, PutOptions } from "./blob-store";
import { ObjectChanged, ObjectTooLarge } from "./blob-store";
import { putInParts } from "./s3-multipart";

export interface S3Request {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: BodyInit | null;
  timeoutMs?: number;
}

/** Requests that move no object bytes should answer quickly; stuck ones become 503s. */
const CONTROL_TIMEOUT_MS = 15_000;

export function unquote(etag: string | null): string {
  return (etag ?? "").replace(/^W\//, "").replace(/&quot;|"/g, "");
}

/** 503 storage_unavailable for the client; the cause (status, S3 error code) goes to the log. */
export function storageFailure(what: string, detail: unknown): AppError {
  const err = new AppError("storage_unavailable", "Storage is unavailable");
  (err as { cause?: unknown }).cause = detail instanceof Error ? detail : new Error(`${what}: ${String(detail)}`);
  return err;
}

export async function unexpected(res: Response, what: string): Promise<AppError> {
  const text = await res.text().catch(() => "");
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? "";
  return storageFailure(what, `${what}: the store answered ${res.status} ${code}`.trim());
}

/** SigV4 wants YYYYMMDDTHHMMSSZ. */
function amzDate(d: Date): string {
  return d.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

export class S3BlobStore implements BlobStore {
  private readonly signingKeys = new Map<string, ArrayBuffer>();
  private readonly publicEndpoint: string;

  /** `clock` exists for tests that need a URL signed in the past. */
  constructor(
    private readonly config: StorageConfig,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.publicEndpoint = config.publicEndpoint ?? config.endpoint;
  }

  objectUrl(key: string, endpoint = this.config.endpoint): URL {
    const path = [this.config.bucket, ...key.split("/")].map(encodeURIComponent).join("/");
    return new URL(`${endpoint}/${path}`);
  }

  private signer(method: string, url: URL, headers: Record<string, string>, query: boolean) {
    return new AwsV4Signer({
      method,
      url: url.toString(),
      headers,
      accessKeyId: this.config.accessKeyId,
      secretAccessKey: this.config.secretAccessKey,
      service: "s3",
      region: this.config.region,
      cache: this.signingKeys,
      datetime: amzDate(this.clock()),
      signQuery: query,
      // Presigned URLs sign every header given (Content-Type, Content-Length) so the URL is bound to them.
      allHeaders: query,
    });
  }

  /** Signs (UNSIGNED-PAYLOAD) and sends one request; network failures become 503. */
  async send(req: S3Request): Promise<Response> {
    const signed = await this.signer(req.method, req.url, req.headers ?? {}, false).sign();
    try {
      return await fetch(signed.url.toString(), {
        method: req.method,
        headers: signed.headers,
        body: req.body ?? null,
        signal: req.timeoutMs === undefined ? undefined : AbortSignal.timeout(req.timeoutMs),
      });
    } catch (err) {
      throw storageFailure(`${req.method} ${req.url.pathname}`, err);
    }
  }

  async put(key: string, body: ReadableStream<Uint8Array>, opts: PutOptions): Promise<{ size: number; etag: string }> {
    if (opts.length === null) return putInParts(this, key, body, opts);
    if (opts.length > opts.maxBytes) throw new ObjectTooLarge(opts.maxBytes, opts.length); // body left unread
    const fixed = new FixedLengthStream(opts.length);
    // A short or overlong body fails the pipe, which aborts the PUT: nothing is stored.
    const pumped = body.pipeTo(fixed.writable).then(
      () => null,
      (err: unknown) => err ?? new Error("upload body failed"),
    );
    let res: Response;
    try {
      res = await this.send({ method: "PUT", url: this.objectUrl(key), headers: { "Content-Type": opts.contentType }, body: fixed.readable });
    } catch (err) {
      const bodyError = await pumped;
      if (bodyError !== null) throw new AppError("bad_request", "The upload ended before Content-Length bytes arrived");
      throw err;
    }
    if (!res.ok) throw await unexpected(res, "PUT object");
    await res.body?.cancel();
    return { size: opts.length, etag: unquote(res.headers.get("ETag")) };
  }

  /** One PUT of bytes already in memory (small objects and the last part of nothing). */
  async putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<{ size: number; etag: string }> {
    const res = await this.send({ method: "PUT", url: this.objectUrl(key), headers: { "Content-Type": contentType }, body: bytes });
    if (!res.ok) throw await unexpected(res, "PUT object");
    await res.body?.cancel();
    return { size: bytes.byteLength, etag: unquote(res.headers.get("ETag")) };
  }

  async get(key: string, opts: GetOptions = {}): Promise<ObjectBody | null> {
    const headers: Record<string, string> = {};
    if (opts.range) headers.Range = `bytes=${opts.range.start}-${opts.range.end}`;
    if (opts.ifMatch) headers["If-Match"] = `"${opts.ifMatch}"`;
    const res = await this.send({ method: "GET", url: this.objectUrl(key), headers });
    if (res.status === 404 || (res.status === 412 && opts.ifMatch)) {
      await res.body?.cancel();
      if (res.status === 412) throw new ObjectChanged(opts.ifMatch!, null);
      return null;
    }
    if ((res.status !== 200 && res.status !== 206) || res.body === null) throw await unexpected(res, "GET object");
    const etag = res.headers.get("ETag");
    // Not every store honours If-Match (s3rver ignores it): compare the ETag it sent as well.
    if (opts.ifMatch && etag !== null && unquote(etag) !== opts.ifMatch) {
      await res.body.cancel();
      throw new ObjectChanged(opts.ifMatch, unquote(etag));
    }
    const declared = res.headers.get("Content-Length");
    if (res.status === 200) return { body: res.body, length: Number(declared ?? "0"), etag: unquote(etag), range: null };
    // 206: the span actually sent, which a store may choose differently from the one asked for.
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("Content-Range") ?? "");
    const range = m ? { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) } : null;
    const length = range === null ? NaN : range.end - range.start + 1;
    if (!(length > 0) || (declared !== null && Number(declared) !== length)) {
      await res.body.cancel();
      throw storageFailure("GET object", `206 with Content-Range ${res.headers.get("Content-Range")} and Content-Length ${declared}`);
    }
    return { body: res.body, length, etag: unquote(etag), range };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const res = await this.send({ method: "HEAD", url: this.objectUrl(key), timeoutMs: CONTROL_TIMEOUT_MS });
    if (res.status === 404) return null;
    if (!res.ok) throw await unexpected(res, "HEAD object");
    const modified = res.headers.get("Last-Modified");
    return {
      size: Number(res.headers.get("Content-Length") ?? "0"),
      etag: unquote(res.headers.get("ETag")),
      contentType: res.headers.get("Content-Type"),
      lastModified: modified ? new Date(modified) : null,
    };
  }

  async delete(key: string): Promise<void> {
    const res = await this.send({ method: "DELETE", url: this.objectUrl(key), timeoutMs: CONTROL_TIMEOUT_MS });
    await res.body?.cancel();
    if (!res.ok && res.status !== 404) throw await unexpected(res, "DELETE object");
  }

  async presignPut(key: string, opts: PresignPutOptions): Promise<string> {
    const url = this.objectUrl(key, this.publicEndpoint);
    url.searchParams.set("X-Amz-Expires", String(opts.expiresInSeconds));
    const headers: Record<string, string> = { "Content-Type": opts.contentType };
    if (opts.contentLength !== undefined) headers["Content-Length"] = String(opts.contentLength);
    return (await this.signer("PUT", url, headers, true).sign()).url.toString();
  }

  async presignGet(key: string, opts: PresignGetOptions): Promise<string> {
    const url = this.objectUrl(key, this.publicEndpoint);
    url.searchParams.set("X-Amz-Expires", String(opts.expiresInSeconds));
    if (opts.contentDisposition) url.searchParams.set("response-content-disposition", opts.contentDisposition);
    const signed = (await this.signer("GET", url, {}, true).sign()).url.toString();
    // URLSearchParams writes spaces as "+", which S3 does not read as a space when it checks the signature.
    return signed.replace(/\+/g, "%20");
  }

  async ping(): Promise<void> {
    const url = new URL(`${this.config.endpoint}/${encodeURIComponent(this.config.bucket)}`);
    const res = await this.send({ method: "HEAD", url, timeoutMs: CONTROL_TIMEOUT_MS });
    if (res.status === 404) throw new Error(`bucket ${this.config.bucket} does not exist`);
    if (res.status === 403) throw new Error(`the store refused our credentials for bucket ${this.config.bucket}`);
    if (!res.ok) throw new Error(`the store answered ${res.status}`);
  }
}
