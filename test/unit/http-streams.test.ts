// The streaming multipart reader and the Range parser, in Node (web streams are the same API).
import { describe, expect, it } from "vitest";
import { AppError } from "../../worker/http/errors";
import { multipartBoundary, MultipartReader, partText } from "../../worker/http/multipart";
import { parseRange } from "../../worker/http/range";

/**
 * A body delivered in chunks of `size` bytes, so delimiters land across chunk boundaries. A byte
 * stream (what workerd's request bodies are) is read with BYOB into the reader's own buffer.
 */
function chunked(bytes: Uint8Array, size: number, byteStream = false): ReadableStream<Uint8Array> {
  let offset = 0;
  const pull = (controller: ReadableStreamDefaultController<Uint8Array> | ReadableByteStreamController) => {
    if (offset >= bytes.byteLength) return controller.close();
    controller.enqueue(bytes.slice(offset, offset + size));
    offset += size;
  };
  return byteStream ? new ReadableStream({ type: "bytes", pull }) : new ReadableStream({ pull });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** What undici's FormData serialiser produces, so the reader is tested on a real client's bytes. */
async function formBody(form: FormData): Promise<{ bytes: Uint8Array; boundary: string }> {
  const res = new Response(form);
  const boundary = multipartBoundary(res.headers.get("Content-Type"))!;
  return { bytes: new Uint8Array(await res.arrayBuffer()), boundary };
}

describe("multipartBoundary", () => {
  it.each([
    ["multipart/form-data; boundary=abc123", "abc123"],
    ['multipart/form-data; boundary="quoted boundary"', "quoted boundary"],
    ["Multipart/Form-Data;charset=utf-8;BOUNDARY=x", "x"],
    ["multipart/form-data", null],
    ["multipart/mixed; boundary=abc", null],
    ["application/json", null],
    [null, null],
  ])("%s → %s", (type, boundary) => expect(multipartBoundary(type)).toBe(boundary));
});

describe("MultipartReader", () => {
  const file = new Uint8Array(200_003).map((_, i) => (i * 7919) % 256);
  // Bytes that look like a delimiter's start inside the file must not end the part.
  file.set(new TextEncoder().encode("\r\n--not-the-boundary\r\n\r\n"), 1000);

  it.each([
    [1, false], [7, false], [64, false], [4096, false], [65536, false], [1_000_000, false],
    [1, true], [61, true], [65536, true], [300_000, true],
  ])("reads fields and a file in order, with %d-byte chunks (byte stream: %s)", async (size, byteStream) => {
    const form = new FormData();
    form.append("metadata", '{"bpm":120}');
    form.append("file", new Blob([file], { type: "audio/wav" }), "take 1.wav");
    form.append("after", "tail");
    const { bytes, boundary } = await formBody(form);
    const reader = new MultipartReader(chunked(bytes, size, byteStream), boundary);

    const meta = (await reader.next())!;
    expect(meta).toMatchObject({ name: "metadata", filename: null });
    expect(await partText(meta, 1024)).toBe('{"bpm":120}');

    const part = (await reader.next())!;
    expect(part).toMatchObject({ name: "file", filename: "take 1.wav", contentType: "audio/wav" });
    expect((await collect(part.body)).equals(Buffer.from(file))).toBe(true);

    const after = (await reader.next())!;
    expect(after.name).toBe("after");
    expect(await partText(after, 1024)).toBe("tail");
    expect(await reader.next()).toBeNull();
    expect(await reader.next()).toBeNull();
  });

  it("skips a part the caller does not read", async () => {
    const form = new FormData();
    form.append("ignored", new Blob([file]), "skip.bin");
    form.append("file", new Blob(["hello"], { type: "text/plain" }), "hello.txt");
    const { bytes, boundary } = await formBody(form);
    const reader = new MultipartReader(chunked(bytes, 1000), boundary);
    expect((await reader.next())!.name).toBe("ignored");
    const second = (await reader.next())!;
    expect(second.filename).toBe("hello.txt");
    expect((await collect(second.body)).toString()).toBe("hello");
  });

  it("decodes quoted-string escapes and RFC 8187 filename*", async () => {
    const boundary = "XyZ";
    const body = [
      "preamble to ignore",
      `--${boundary}`,
      `Content-Disposition: form-data; name="file"; filename="fallback.txt"; filename*=UTF-8''caf%C3%A9.txt`,
      "",
      "one",
      `--${boundary}`,
      `Content-Disposition: form-data; name="b"; filename="a \\"quoted\\" name.txt"`,
      "",
      "two",
      `--${boundary}--`,
      "epilogue",
    ].join("\r\n");
    const reader = new MultipartReader(chunked(new TextEncoder().encode(body), 5), boundary);
    const a = (await reader.next())!;
    expect(a.filename).toBe("café.txt");
    expect(await partText(a, 10)).toBe("one");
    const b = (await reader.next())!;
    expect(b.filename).toBe('a "quoted" name.txt');
    expect(await reader.next()).toBeNull();
  });

  it.each([
    ["a body that ends inside a part", "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc"],
    ["a body with no boundary at all", "just some bytes"],
    ["a part without Content-Disposition", "--B\r\nContent-Type: text/plain\r\n\r\nabc\r\n--B--"],
  ])("refuses %s with 400", async (_label, body) => {
    const reader = new MultipartReader(chunked(new TextEncoder().encode(body), 3), "B");
    const err = await (async () => {
      const part = await reader.next();
      if (part) await collect(part.body);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
  });

  it("refuses a body over the reader's cap with 413, even in parts nobody reads", async () => {
    const form = new FormData();
    form.append("junk", new Blob([new Uint8Array(5000)]), "junk.bin");
    form.append("file", new Blob(["x"]), "x.txt");
    const { bytes, boundary } = await formBody(form);
    const reader = new MultipartReader(chunked(bytes, 512), boundary, 4000);
    expect((await reader.next())!.name).toBe("junk");
    await expect(reader.next()).rejects.toMatchObject({ code: "payload_too_large" });
  });

  it("drain() reads a refused body to its end (up to a limit) and releases it", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 10) return controller.close();
        pulled++;
        controller.enqueue(new Uint8Array(1000));
      },
    });
    const reader = new MultipartReader(body, "B");
    await reader.drain(100_000);
    expect(pulled).toBe(10);
    expect(await reader.next()).toBeNull();

    let more = 0;
    const endless = new ReadableStream<Uint8Array>({ pull: (c) => void (more++, c.enqueue(new Uint8Array(1000))) });
    await new MultipartReader(endless, "B").drain(5000);
    expect(more).toBeLessThan(20); // stopped shortly after the limit, not read forever
  });

  it("refuses a field over its limit with 413", async () => {
    const form = new FormData();
    form.append("metadata", "x".repeat(2000));
    const { bytes, boundary } = await formBody(form);
    const part = (await new MultipartReader(chunked(bytes, 100), boundary).next())!;
    await expect(partText(part, 1000)).rejects.toMatchObject({ code: "payload_too_large" });
  });
});

describe("parseRange", () => {
  it.each([
    ["bytes=0-9", 100, { kind: "range", start: 0, end: 9 }],
    ["bytes=10-", 100, { kind: "range", start: 10, end: 99 }],
    ["bytes=-10", 100, { kind: "range", start: 90, end: 99 }],
    ["bytes=-500", 100, { kind: "range", start: 0, end: 99 }],
    ["bytes=90-500", 100, { kind: "range", start: 90, end: 99 }],
    ["bytes=99-99", 100, { kind: "range", start: 99, end: 99 }],
    ["bytes=100-", 100, { kind: "unsatisfiable" }],
    ["bytes=-0", 100, { kind: "unsatisfiable" }],
    ["bytes=0-", 0, { kind: "unsatisfiable" }],
    ["bytes=5-1", 100, { kind: "none" }],
    ["bytes=0-1,5-6", 100, { kind: "none" }],
    ["items=0-1", 100, { kind: "none" }],
    ["bytes=-", 100, { kind: "none" }],
    [null, 100, { kind: "none" }],
  ] as const)("%s of %d bytes", (header, size, expected) => expect(parseRange(header, size)).toEqual(expected));
});
