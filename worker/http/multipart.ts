// A streaming multipart/form-data reader (RFC 7578). request.formData() would hold the whole body
// in memory; this reads the body as it arrives and hands each part's bytes on as a stream, so an
// upload is never buffered and its size can be checked while it is read.
import { readStreamLimited } from "./body";
import { AppError } from "./errors";
import { StreamFiller } from "./stream-filler";

const CR = 13;
const MAX_HEADER_BYTES = 16 * 1024;
const encoder = new TextEncoder();
const HEADERS_END = encoder.encode("\r\n\r\n");

function malformed(why: string): AppError {
  return new AppError("bad_request", `Malformed multipart body: ${why}`);
}

/** The boundary of a multipart/form-data Content-Type, or null for any other type. */
export function multipartBoundary(contentType: string | null): string | null {
  if (contentType === null || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^";\s]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const last = hay.byteLength - needle.byteLength;
  const first = needle[0]!;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.byteLength && hay[i + j] === needle[j]) j++;
    if (j === needle.byteLength) return i;
  }
  return -1;
}

/** Reads a quoted-string or token parameter of a header value (Content-Disposition). */
function param(header: string, name: string): string | null {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i");
  const m = re.exec(header);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!;
}

/** RFC 8187 filename*=UTF-8''percent-encoded, when a client sends it. */
function extFilename(header: string): string | null {
  const raw = param(header, "filename\\*");
  const m = raw === null ? null : /^utf-8'[^']*'(.*)$/i.exec(raw);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a);
  joined.set(b, a.byteLength);
  return joined;
}

export interface MultipartPart {
  name: string | null;
  /** null when the part is a plain field; "" when a file input was left empty. */
  filename: string | null;
  contentType: string | null;
  /**
   * The part's bytes as they arrive; read it (or call next() to skip it) before the next part.
   * A chunk is only valid until the next read (the reader reuses its buffer): copy what you keep.
   */
  body: ReadableStream<Uint8Array>;
}

/** Request bytes are read into one reused buffer of this size (no allocation per chunk). */
const READ_BUFFER_BYTES = 128 * 1024;

export class MultipartReader {
  private readonly source: StreamFiller;
  private readBuffer = new ArrayBuffer(READ_BUFFER_BYTES);
  private readonly delimiter: Uint8Array;
  /** Unread bytes. Starts with CRLF so the first boundary looks like every other delimiter. */
  private buf: Uint8Array = new Uint8Array([CR, 10]);
  private ended = false;
  private finished = false;
  private current: ReadableStream<Uint8Array> | null = null;
  private total = 0;

  /** `maxBytes` caps the whole body (parts nobody reads included): 413 beyond it. */
  constructor(body: ReadableStream<Uint8Array>, boundary: string, private readonly maxBytes = Infinity) {
    this.source = new StreamFiller(body);
    this.delimiter = encoder.encode(`\r\n--${boundary}`);
  }

  /** The next chunk of the request body (a view of the reused read buffer), or null at its end. */
  private async read(): Promise<Uint8Array | null> {
    if (this.ended) return null;
    // Unread bytes still in the read buffer (a delimiter-sized tail, partial headers) move out first.
    if (this.buf.buffer === this.readBuffer) this.buf = this.buf.slice();
    const got = await this.source.fill(new Uint8Array(this.readBuffer));
    this.readBuffer = got.buffer;
    this.total += got.n;
    if (this.total > this.maxBytes) throw new AppError("payload_too_large", `Request body exceeds ${this.maxBytes} bytes`);
    if (got.done) this.ended = true;
    return got.done ? null : new Uint8Array(got.buffer, 0, got.n);
  }

  /** Appends the next chunk to the unread bytes (headers and boundaries only: small); false at the end. */
  private async fill(): Promise<boolean> {
    const value = await this.read();
    if (value === null) return false;
    this.buf = this.buf.byteLength === 0 ? value : concat(this.buf, value);
    return true;
  }

  /**
   * Next chunk of the current part's body, or null once its closing delimiter is reached. Body
   * bytes are handed on as views of the read buffer, never copied: only when a short tail might be
   * the start of the delimiter is it checked against the first bytes of the next chunk.
   */
  private async bodyChunk(): Promise<Uint8Array | null> {
    const keep = this.delimiter.byteLength - 1;
    for (;;) {
      const at = indexOf(this.buf, this.delimiter, 0);
      if (at !== -1) {
        const chunk = this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at); // the delimiter stays for next()
        this.current = null;
        return chunk.byteLength > 0 ? chunk : null;
      }
      // Everything except a tail that could be the start of the delimiter is body.
      const safe = this.buf.byteLength - keep;
      if (safe > 0) {
        const chunk = this.buf.subarray(0, safe);
        this.buf = this.buf.subarray(safe);
        return chunk;
      }
      const next = await this.read();
      if (next === null) throw malformed("the body ended inside a part");
      if (next.byteLength >= keep && indexOf(concat(this.buf, next.subarray(0, keep)), this.delimiter, 0) === -1) {
        // No delimiter starts in the tail, so the tail is body and the new chunk is used as it is.
        const tail = this.buf;
        this.buf = next;
        if (tail.byteLength > 0) return tail;
      } else {
        this.buf = concat(this.buf, next); // a delimiter spans the two chunks (or the chunk is tiny)
      }
    }
  }

  private partStream(): ReadableStream<Uint8Array> {
    const stream: ReadableStream<Uint8Array> = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        // Once next() moved on (or the delimiter was reached) this part has no more bytes.
        if (this.current !== stream) return controller.close();
        const chunk = await this.bodyChunk();
        if (chunk !== null) controller.enqueue(chunk);
        if (this.current !== stream) controller.close();
      },
    }, { highWaterMark: 0 }); // pull only when asked: next() and a pull must never read at once
    return stream;
  }

  /** Skips to the next part and reads its headers; null after the closing delimiter. */
  async next(): Promise<MultipartPart | null> {
    if (this.finished) return null;
    while (this.current !== null) await this.bodyChunk(); // the caller did not read it all
    // Find the delimiter (only the preamble can precede it here), then the end of its line.
    let at: number;
    while ((at = indexOf(this.buf, this.delimiter, 0)) === -1) {
      if (this.buf.byteLength > MAX_HEADER_BYTES) this.buf = this.buf.subarray(this.buf.byteLength - this.delimiter.byteLength);
      if (!(await this.fill())) throw malformed("no boundary found");
    }
    this.buf = this.buf.subarray(at + this.delimiter.byteLength);
    while (this.buf.byteLength < 2) if (!(await this.fill())) throw malformed("the body ended after a boundary");
    if (this.buf[0] === 45 && this.buf[1] === 45) {
      this.finished = true; // "--": the closing delimiter; the epilogue is ignored
      await this.source.cancel();
      return null;
    }
    // The delimiter line ends in CRLF (possibly after transport padding), then the headers, then CRLF.
    let end: number;
    while ((end = indexOf(this.buf, HEADERS_END, 0)) === -1) {
      if (this.buf.byteLength > MAX_HEADER_BYTES) throw malformed("part headers too long");
      if (!(await this.fill())) throw malformed("the body ended inside part headers");
    }
    const headerText = new TextDecoder().decode(this.buf.subarray(0, end));
    this.buf = this.buf.subarray(end + 4);
    const headers = new Map<string, string>();
    for (const line of headerText.split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const disposition = headers.get("content-disposition") ?? "";
    if (!/^form-data\b/i.test(disposition)) throw malformed("a part without Content-Disposition: form-data");
    const body = this.partStream();
    this.current = body;
    return {
      name: param(disposition, "name"),
      filename: extFilename(disposition) ?? param(disposition, "filename"),
      contentType: headers.get("content-type") ?? null,
      body,
    };
  }

  /**
   * After a refusal: reads and drops up to `limit` more bytes, so a client still sending reads the
   * answer instead of a closed connection (see discardBody), then releases the body.
   */
  async drain(limit: number): Promise<void> {
    this.finished = true;
    try {
      for (let seen = 0; seen <= limit; ) {
        const chunk = await this.read();
        if (chunk === null) return;
        seen += chunk.byteLength;
      }
    } catch {
      // over the reader's cap, or the client went away
    }
    await this.source.cancel();
  }
}

/** A small field's text, refusing (413) more than `limit` bytes. */
export async function partText(part: MultipartPart, limit: number): Promise<string> {
  const tooLarge = () => new AppError("payload_too_large", `Form field ${part.name ?? ""} exceeds ${limit} bytes`);
  return new TextDecoder().decode(await readStreamLimited(part.body, limit, tooLarge));
}
