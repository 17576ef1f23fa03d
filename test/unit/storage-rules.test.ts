// Pure blob rules: MIME allow-list → category / extension, size limits (inclusive), key layout,
// filename sanitising and Content-Disposition, usage formatting and signed-URL expiry format, and
// how S3BlobStore.get reads a store's answer (If-Match, Content-Range) with fetch stubbed.
import { afterEach, describe, expect, it, vi } from "vitest";
import { expiryTimestamp, formatBytes } from "../../worker/modules/blobs/format";
import { asciiFallback, contentDisposition, sanitizeFilename, urlSafeFilename } from "../../worker/storage/filename";
import { ObjectChanged } from "../../worker/storage/blob-store";
import { blobKey, parseBlobKey } from "../../worker/storage/keys";
import { S3BlobStore } from "../../worker/storage/s3";
import { ALLOWED_MIME_TYPES, categoryOf, essence, extensionOf, isAllowedMime, MAX_BYTES, maxBytesFor, withinLimit } from "../../worker/storage/mime";

const MiB = 1024 * 1024;
const USER = "0b5f4b1e-9a4e-4c47-8d0e-3f0a7c1d2e3f";
const BLOB = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

describe("MIME rules (spec §2.14)", () => {
  it("allows exactly the spec's twenty types", () => {
    expect([...ALLOWED_MIME_TYPES].sort()).toEqual(
      [
        "audio/mpeg", "audio/mp3", "audio/wav", "audio/wave", "audio/x-wav", "audio/ogg", "audio/flac", "audio/aac", "audio/m4a", "audio/x-m4a",
        "image/jpeg", "image/png", "image/gif", "image/webp", "image/svg+xml",
        "application/pdf", "application/json", "text/plain", "application/zip", "application/x-zip-compressed",
      ].sort(),
    );
  });

  it.each(["application/x-executable", "application/x-msdownload", "text/html", "application/javascript", "application/octet-stream", "image/bmp", "audio/mpeg3", "AUDIO/MPEG"])(
    "refuses %s (exact, case-sensitive match after essence())",
    (mime) => expect(isAllowedMime(mime)).toBe(false),
  );

  it("takes the bare type from a Content-Type value", () => {
    expect(essence("Text/Plain; charset=UTF-8")).toBe("text/plain");
    expect(isAllowedMime(essence("AUDIO/MPEG"))).toBe(true);
  });

  it.each([
    ["audio/x-wav", "audio", "wav"],
    ["audio/wave", "audio", "wav"],
    ["audio/mp3", "audio", "mp3"],
    ["audio/x-m4a", "audio", "m4a"],
    ["audio/flac", "audio", "flac"],
    ["image/jpeg", "images", "jpg"],
    ["image/svg+xml", "images", "svg"],
    ["application/zip", "exports", "zip"],
    ["application/x-zip-compressed", "exports", "zip"],
    ["application/pdf", "other", "pdf"],
    ["application/json", "other", "json"],
    ["text/plain", "other", "txt"],
    ["application/unknown", "other", "bin"],
  ])("%s → category %s, extension %s", (mime, category, ext) => {
    expect(categoryOf(mime)).toBe(category);
    expect(extensionOf(mime)).toBe(ext);
  });

  it("limits are 50 MiB audio, 10 MiB images, 100 MiB otherwise, and inclusive", () => {
    expect(MAX_BYTES).toEqual({ audio: 50 * MiB, images: 10 * MiB, exports: 100 * MiB, other: 100 * MiB });
    expect(maxBytesFor("audio/ogg")).toBe(50 * MiB);
    expect(withinLimit("image/png", 10 * MiB)).toBe(true);
    expect(withinLimit("image/png", 10 * MiB + 1)).toBe(false);
    expect(withinLimit("audio/flac", 50 * MiB)).toBe(true);
    expect(withinLimit("audio/flac", 50 * MiB + 1)).toBe(false);
    expect(withinLimit("application/pdf", 100 * MiB)).toBe(true);
    expect(withinLimit("application/pdf", 100 * MiB + 1)).toBe(false);
    expect(withinLimit("text/plain", 0)).toBe(true);
  });
});

describe("key layout {user}/{category}/{uuid}.{ext}", () => {
  it("builds and parses keys", () => {
    const key = blobKey(USER, BLOB, "audio/x-wav");
    expect(key).toBe(`${USER}/audio/${BLOB}.wav`);
    expect(parseBlobKey(key)).toEqual({ userId: USER, category: "audio", blobId: BLOB, extension: "wav" });
    expect(blobKey(USER, BLOB, "application/x-zip-compressed")).toBe(`${USER}/exports/${BLOB}.zip`);
  });

  it.each([
    `${USER}/music/${BLOB}.mp3`,
    `${USER}/audio/${BLOB}`,
    `not-a-uuid/audio/${BLOB}.mp3`,
    `${USER}/audio/../${BLOB}.mp3`,
    `${USER}/audio/${BLOB}.mp3/extra`,
    `/${USER}/audio/${BLOB}.mp3`,
  ])("rejects the malformed key %s", (key) => expect(parseBlobKey(key)).toBeNull());

  it("refuses to build a key from anything but UUIDs", () => {
    expect(() => blobKey("../etc", BLOB, "text/plain")).toThrow();
    expect(() => blobKey(USER, "x/y", "text/plain")).toThrow();
  });
});

describe("filenames", () => {
  it.each([
    ["song.mp3", "song.mp3"],
    ["C:\\Users\\me\\Music\\song.mp3", "song.mp3"],
    ["../../etc/passwd", "passwd"],
    ["  spaced   out  name.txt  ", "spaced out name.txt"],
    ["evil\r\nSet-Cookie: x=y.txt", "evilSet-Cookie: x=y.txt"],
    ["invoice\u202Efdp.exe", "invoicefdp.exe"],
    [".hidden", "hidden"],
    ["trailing dots...", "trailing dots"],
    ["Cafe\u0301 ☕.txt", "Café ☕.txt"],
  ])("sanitises %j → %j", (raw, clean) => expect(sanitizeFilename(raw)).toBe(clean));

  it.each(["", "   ", "/", "..", "\u0000\u0001", "dir/"])("gives null for the unusable %j", (raw) => expect(sanitizeFilename(raw)).toBeNull());

  it("keeps the extension when cutting a long name to 255 characters", () => {
    const name = sanitizeFilename(`${"a".repeat(400)}.flac`)!;
    expect([...name]).toHaveLength(255);
    expect(name.endsWith(".flac")).toBe(true);
  });

  it("Content-Disposition carries an ASCII fallback and the exact UTF-8 name (RFC 6266 / 8187)", () => {
    expect(contentDisposition("attachment", "Café ☕ (1)'s.txt")).toBe(
      `attachment; filename="Cafe _ (1)'s.txt"; filename*=UTF-8''Caf%C3%A9%20%E2%98%95%20%281%29%27s.txt`,
    );
    expect(contentDisposition("inline", 'a"b\\c%.mp3')).toBe(`inline; filename="a_b_c_.mp3"; filename*=UTF-8''a%22b%5Cc%25.mp3`);
    expect(asciiFallback("☕☕")).toBe("__");
    expect(urlSafeFilename("Café ☕ (1).txt")).toBe("Cafe____1_.txt");
    expect(urlSafeFilename("☕")).toBe("download");
  });
});

describe("usage formatting and expiry timestamps", () => {
  it.each([
    [0, "0 bytes"],
    [512, "512 bytes"],
    [1023, "1023 bytes"],
    [1024, "1.00 KB"],
    [1536, "1.50 KB"],
    [1.5 * MiB, "1.50 MB"],
    [2 * 1024 * MiB, "2.00 GB"],
    [3 * 1024 * 1024 * MiB, "3.00 TB"],
  ])("%d → %s", (n, text) => expect(formatBytes(n)).toBe(text));

  it("writes signed-URL expiry as RFC 3339 UTC with +00:00, whole seconds", () => {
    expect(expiryTimestamp(new Date("2026-01-08T10:00:00.123Z"))).toBe("2026-01-08T10:00:00+00:00");
  });
});

describe("S3BlobStore.get: conditional and partial reads", () => {
  const store = new S3BlobStore({ endpoint: "http://s3.test", bucket: "b", region: "auto", accessKeyId: "k", secretAccessKey: "s", publicEndpoint: null });
  let sent: Request[] = [];
  /** Every request answers `status` with `body` and these headers; the stream reports whether it was cancelled. */
  function answer(status: number, headers: Record<string, string>, body = "0123456789") {
    const state = { cancelled: false };
    sent = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      sent.push(new Request(url, init));
      const stream = new ReadableStream<Uint8Array>({
        start: (c) => c.enqueue(new TextEncoder().encode(body)),
        cancel: () => void (state.cancelled = true),
      });
      return new Response(stream, { status, headers });
    });
    return state;
  }
  afterEach(() => vi.unstubAllGlobals());

  it("sends If-Match with the quoted ETag; 412 → ObjectChanged, with the body cancelled", async () => {
    const state = answer(412, {}, "<Error><Code>PreconditionFailed</Code></Error>");
    await expect(store.get("u/other/x.txt", { ifMatch: "abc" })).rejects.toBeInstanceOf(ObjectChanged);
    expect(sent[0]!.headers.get("If-Match")).toBe('"abc"');
    expect(state.cancelled).toBe(true);
  });

  it("a store that ignores If-Match and sends another ETag → ObjectChanged; the same ETag is read", async () => {
    const state = answer(200, { ETag: '"other"', "Content-Length": "10" });
    await expect(store.get("k", { ifMatch: "abc" })).rejects.toMatchObject({ name: "ObjectChanged", expected: "abc", found: "other" });
    expect(state.cancelled).toBe(true);
    answer(200, { ETag: '"abc"', "Content-Length": "10" });
    expect(await store.get("k", { ifMatch: "abc" })).toMatchObject({ length: 10, etag: "abc", range: null });
    answer(200, { ETag: '"abc"', "Content-Length": "10" });
    await store.get("k");
    expect(sent[0]!.headers.get("If-Match")).toBeNull();
  });

  it("takes the span of a 206 from the store's Content-Range, not from the range asked for", async () => {
    answer(206, { ETag: '"abc"', "Content-Length": "10", "Content-Range": "bytes 0-9/10" });
    const got = await store.get("k", { range: { start: 0, end: 0 } });
    expect(sent[0]!.headers.get("Range")).toBe("bytes=0-0");
    expect(got).toMatchObject({ length: 10, range: { start: 0, end: 9, size: 10 } });
    // A 206 whose headers do not describe its body cannot be passed on.
    for (const headers of [{ "Content-Length": "10" }, { "Content-Length": "5", "Content-Range": "bytes 0-9/10" }]) {
      const state = answer(206, headers);
      await expect(store.get("k", { range: { start: 0, end: 0 } })).rejects.toMatchObject({ code: "storage_unavailable" });
      expect(state.cancelled).toBe(true);
    }
  });
});
