import { AppError } from "./errors";
import { StreamFiller } from "./stream-filler";

/**
 * Reads a stream whole, throwing `tooLarge()` (and cancelling the rest) as soon as it passes
 * `limit` bytes, so a lying or chunked client cannot make us buffer more than the limit.
 */
export async function readStreamLimited(stream: ReadableStream<Uint8Array>, limit: number, tooLarge: () => AppError): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (err) {
      if (err instanceof AppError) throw err; // a multipart part's own verdict (malformed, too large)
      // The client went away (or broke the framing) mid-body: its failure, not ours.
      throw new AppError("bad_request", "The request body could not be read completely");
    }
    const { done, value } = next;
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value.slice()); // a BYOB-backed reader may reuse its buffer
  }
  const all = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return all;
}

/** How much of a refused JSON body is read and dropped so that the client gets the answer, and for how long. */
const DRAIN_LIMIT = 16 * 1024 * 1024;
const DRAIN_MS = 5000;

/**
 * Before answering a request whose body will not be read: workerd closes a connection whose body
 * is left unread, without saying so, and the client sees a reset (or its next request on the
 * keep-alive connection fails) instead of the answer. So the body is read and dropped first, up
 * to `limit` bytes and `ms` milliseconds. One declared larger, or held back by a client waiting
 * for `100 Continue`, is left alone: the answer goes out and the connection closes.
 */
export async function dropUnreadBody(request: Request, limit: number, ms: number): Promise<void> {
  const body = request.body;
  if (body === null || request.bodyUsed || body.locked) return;
  if (/100-continue/i.test(request.headers.get("Expect") ?? "")) return;
  if (Number(request.headers.get("Content-Length") ?? NaN) > limit) return;
  await discardBody(body, limit, ms);
}

/** Reads the request body as text: 413 over `limit` bytes (declared or counted), 400 if not UTF-8. */
export async function readLimitedText(request: Request, limit: number): Promise<string> {
  const tooLarge = () => new AppError("payload_too_large", `Request body exceeds the limit of ${limit} bytes`);
  const declared = request.headers.get("Content-Length");
  if (declared !== null && Number(declared) > limit) {
    await dropUnreadBody(request, DRAIN_LIMIT, DRAIN_MS);
    throw tooLarge();
  }
  if (request.body === null) return "";
  const all = await readStreamLimited(request.body, limit, tooLarge);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(all);
  } catch {
    throw new AppError("bad_request", "Request body is not valid UTF-8");
  }
}

/**
 * Reads and drops what is left of a body the handler refused, at most `limit` bytes (and `ms`
 * milliseconds), so that a client still sending it reads our answer instead of failing on a closed
 * connection (EPIPE). Past either bound the rest is cancelled. A body already being read elsewhere
 * is left alone.
 */
export async function discardBody(body: ReadableStream<Uint8Array> | null, limit: number, ms = Infinity): Promise<void> {
  if (body === null || body.locked) return;
  const source = new StreamFiller(body);
  let buffer = new ArrayBuffer(64 * 1024); // reused: dropping a large body allocates nothing
  let timer: ReturnType<typeof setTimeout> | null = null;
  const outOfTime = new Promise<null>((resolve) => {
    if (ms !== Infinity) timer = setTimeout(() => resolve(null), ms);
  });
  try {
    for (let seen = 0; seen <= limit; ) {
      const got = await Promise.race([source.fill(new Uint8Array(buffer)), outOfTime]);
      if (got === null) break; // a body slow to come is not waited for
      if (got.done) return;
      buffer = got.buffer;
      seen += got.n;
    }
  } catch {
    // the client went away: nothing to wait for
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
  await source.cancel();
}

/** Parses a JSON request body: 415 unless the content type is JSON, 400 for bad syntax, 413 when too large. */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  requireJsonType(request);
  return parseJsonText(await readLimitedText(request, limit));
}

/** 415 unless the request says its body is JSON (application/json or application/*+json). */
export function requireJsonType(request: Request): void {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json" && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    throw new AppError("unsupported_media_type", "Content-Type must be application/json");
  }
}

/** The JSON document in a body already read: 400 invalid_json when it is empty or malformed. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "") throw new AppError("invalid_json", "Request body is empty; a JSON document is required");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError("invalid_json", `Malformed JSON: ${(e as Error).message}`);
  }
}
