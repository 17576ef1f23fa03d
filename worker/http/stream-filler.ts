// Reads a byte stream into memory the caller owns. workerd's request bodies are byte streams, so a
// BYOB reader writes straight into the caller's buffer: streaming a large upload through JS then
// allocates nothing per chunk, and the isolate's memory stays flat however large the body is.
// Other streams (a multipart part, a test's JS stream) are read normally and copied in.
// It reads request bodies only: a read that fails is the client's (it went away, or broke the
// chunked framing), a 400 — never a server error.
import { AppError } from "./errors";

export interface FillResult {
  /** The buffer that now holds the bytes: BYOB reads transfer it, so the old one is detached. */
  buffer: ArrayBuffer;
  /** Bytes written at the target's offset. */
  n: number;
  done: boolean;
}

export class StreamFiller {
  private readonly byob: ReadableStreamBYOBReader | null = null;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** Bytes a default read returned that did not fit the last target. */
  private pending: Uint8Array | null = null;

  constructor(stream: ReadableStream<Uint8Array>) {
    try {
      this.byob = stream.getReader({ mode: "byob" });
    } catch {
      this.reader = stream.getReader(); // not a byte stream
    }
  }

  /** One read into `target` (which must not be empty); done once the stream has ended. */
  async fill(target: Uint8Array): Promise<FillResult> {
    try {
      return await this.read(target);
    } catch (err) {
      if (err instanceof AppError) throw err; // a multipart part's own verdict on the body
      const mapped = new AppError("bad_request", "The request body could not be read completely");
      (mapped as { cause?: unknown }).cause = err;
      throw mapped;
    }
  }

  private async read(target: Uint8Array): Promise<FillResult> {
    if (this.byob !== null) {
      const { done, value } = await this.byob.read(target);
      // At the end, value is an empty view of the (transferred) buffer, or undefined if none was taken.
      return { buffer: (value?.buffer ?? target.buffer) as ArrayBuffer, n: value?.byteLength ?? 0, done };
    }
    let chunk = this.pending;
    this.pending = null;
    if (chunk === null) {
      const { done, value } = await this.reader!.read();
      if (done) return { buffer: target.buffer as ArrayBuffer, n: 0, done: true };
      chunk = value;
    }
    const n = Math.min(chunk.byteLength, target.byteLength);
    target.set(chunk.subarray(0, n));
    if (n < chunk.byteLength) this.pending = chunk.subarray(n);
    return { buffer: target.buffer as ArrayBuffer, n, done: false };
  }

  async cancel(): Promise<void> {
    this.pending = null;
    await (this.byob ?? this.reader)!.cancel().catch(() => {});
  }

  /** Gives the stream back unread (so its owner can still drain or cancel it). */
  release(): void {
    this.pending = null;
    (this.byob ?? this.reader)!.releaseLock();
  }
}
