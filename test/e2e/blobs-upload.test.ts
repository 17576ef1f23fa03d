// POST /upload through the real workerd to the signature-checking S3 server: both body forms, both
// prefixes, the allow-list, inclusive size limits enforced while streaming, concurrency.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startApi } from "../support/api";
import { bytes, MiB, objectFileExists, objectInStore, signedIn, sql, uploadForm, uploadRaw } from "../support/blobs";
import { apiEnv, apiUrl } from "../support/env";

const rowsOf = async (email: string) =>
  sql("SELECT b.* FROM blobs b JOIN users u ON u.id = b.user_id WHERE u.email = $1", [email]);
const emailOf = async (b: Awaited<ReturnType<typeof signedIn>>) => (await (await b.fetch("/auth/session")).json()).user.email as string;

describe("POST /api/blobs/upload and /blobs/upload", () => {
  it("stores a raw body under {user}/{category}/{id}.{ext} with its filename, and answers the spec's shape", async () => {
    const b = await signedIn();
    const data = bytes(3 * MiB + 11);
    const res = await uploadRaw(b, data, "audio/x-wav; charset=binary", { filename: "../Takes/take ☕ 1.wav" });
    expect(res.status).toBe(200);
    const body = await res.json();
    const user = (await (await b.fetch("/auth/session")).json()).user;
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      key: `${user.id}/audio/${body.id}.wav`,
      size_bytes: data.length,
      mime_type: "audio/x-wav",
      category: "audio",
      filename: "take ☕ 1.wav",
    });
    expect((await objectInStore(body.key))!.equals(data)).toBe(true);
    const [row] = await rowsOf(user.email);
    expect(row).toMatchObject({ id: body.id, status: "ready", size_bytes: String(data.length), filename: "take ☕ 1.wav", mime_type: "audio/x-wav" });
    expect(row.etag).toMatch(/^[0-9a-f]{32}$/);
  });

  it("stores a multipart file part (any size, in parts) with its metadata, under /blobs too", async () => {
    const b = await signedIn();
    const big = bytes(12 * MiB + 5); // more than two 5 MiB parts
    const res = await uploadForm(b, [
      { name: "metadata", value: JSON.stringify({ bpm: 120, mood: "calm" }) },
      { name: "file", value: big, filename: "mix.zip", type: "application/zip" },
    ], "/blobs");
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ size_bytes: big.length, mime_type: "application/zip", category: "exports", filename: "mix.zip" });
    expect(body.key).toMatch(/\/exports\/[0-9a-f-]{36}\.zip$/);
    expect((await objectInStore(body.key))!.equals(big)).toBe(true);
    const info = await (await b.fetch(`/api/blobs/${body.id}/info`)).json();
    expect(info.metadata).toEqual({ bpm: 120, mood: "calm" });

    // metadata after the file is kept too; a small file is one plain PUT.
    const small = await uploadForm(b, [
      { name: "file", value: "hello", filename: "note.txt", type: "text/plain" },
      { name: "metadata", value: '{"after":true}' },
    ]);
    expect(small.status).toBe(200);
    const id = (await small.json()).id;
    expect((await (await b.fetch(`/blobs/${id}/info`)).json()).metadata).toEqual({ after: true });
  });

  it("keeps bodies of unknown length intact at every buffer and part boundary (multipart and chunked)", async () => {
    const b = await signedIn();
    for (const size of [0, 1, 64 * 1024, 64 * 1024 + 1, MiB, MiB + 1, 5 * MiB, 5 * MiB + 1, 15 * MiB]) {
      const data = bytes(size);
      const form = await uploadForm(b, [{ name: "file", value: data, filename: "f.zip", type: "application/zip" }]);
      const chunked = await b.fetch("/api/blobs/upload", { method: "POST", headers: { "Content-Type": "application/zip" }, body: new Blob([data]).stream(), duplex: "half" } as RequestInit);
      // An empty file can only come as a form part: an empty raw body is no file at all.
      if (size === 0) expect(chunked.status).toBe(400);
      for (const res of size === 0 ? [form] : [form, chunked]) {
        expect(res.status, `${size} bytes`).toBe(200);
        const { key, size_bytes } = await res.json();
        expect(size_bytes).toBe(size);
        expect((await objectInStore(key))!.equals(data), `${size} bytes`).toBe(true);
      }
    }
  }, 60_000);

  it("answers 400 'No file provided' for a form without a file part, or with an empty file input", async () => {
    const b = await signedIn();
    const missing = await uploadForm(b, [{ name: "metadata", value: "{}" }, { name: "other", value: "x" }]);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: "bad_request", message: "No file provided" });
    // What a browser sends for a file input left empty.
    const emptyInput = '--B\r\nContent-Disposition: form-data; name="file"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n';
    const empty = await uploadRaw(b, emptyInput, "multipart/form-data; boundary=B");
    expect(empty.status).toBe(400);
    expect((await empty.json()).message).toBe("No file provided");
    const noBody = await b.fetch("/api/blobs/upload", { method: "POST", headers: { "Content-Type": "text/plain" } });
    expect(noBody.status).toBe(400);
    expect(await rowsOf(await emailOf(b))).toEqual([]);
  });

  it("refuses types off the allow-list with 422 and the spec's message, storing nothing", async () => {
    const b = await signedIn();
    for (const [res, mime] of [
      [await uploadRaw(b, "<script>alert(1)</script>", "text/html"), "text/html"],
      [await uploadForm(b, [{ name: "file", value: "MZ", filename: "a.exe", type: "application/x-msdownload" }]), "application/x-msdownload"],
      // A part without its own Content-Type is application/octet-stream, which is not allowed.
      [await uploadForm(b, [{ name: "file", value: "raw", filename: "a.bin" }]), "application/octet-stream"],
      [await uploadRaw(b, new Uint8Array([1, 2, 3]), null), "application/octet-stream"],
    ] as const) {
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ error: "validation_error", message: `MIME type ${mime} not allowed` });
    }
    expect(await rowsOf(await emailOf(b))).toEqual([]);
  });

  it("refuses bad multipart framing and invalid metadata without storing anything", async () => {
    const b = await signedIn();
    const noBoundary = await uploadRaw(b, "x", "multipart/form-data");
    expect(noBoundary.status).toBe(400);
    const truncated = await uploadRaw(b, '--B\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nabc', "multipart/form-data; boundary=B");
    expect(truncated.status).toBe(400);
    expect((await truncated.json()).message).toMatch(/^Malformed multipart body/);
    // The same inside the metadata part (read whole, not streamed), not a vaguer "could not be read".
    const truncatedMeta = await uploadRaw(b, '--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"a":1', "multipart/form-data; boundary=B");
    expect(truncatedMeta.status).toBe(400);
    expect((await truncatedMeta.json()).message).toMatch(/^Malformed multipart body/);
    const badMeta = await uploadForm(b, [{ name: "file", value: "hi", filename: "a.txt", type: "text/plain" }, { name: "metadata", value: "[1,2" }]);
    expect(badMeta.status).toBe(422);
    expect((await badMeta.json()).details).toEqual([{ field: "metadata", message: "must be a JSON object" }]);
    // The file had already been stored when the bad metadata arrived: it is gone again.
    expect(await rowsOf(await emailOf(b))).toEqual([]);
    // Valid JSON that PostgreSQL's jsonb cannot hold (a NUL character, a lone surrogate): 422, not 500.
    for (const value of ['{"a":"x\\u0000y"}', '{"\\ud800":1}']) {
      const unstorable = await uploadForm(b, [{ name: "file", value: "hi", filename: "a.txt", type: "text/plain" }, { name: "metadata", value }]);
      expect(unstorable.status).toBe(422);
      expect((await unstorable.json()).details[0].field).toBe("metadata");
    }
    expect(await rowsOf(await emailOf(b))).toEqual([]);
  });

  it("metadata nested too deeply is 422 on metadata, not a crash; moderate nesting is stored", async () => {
    const b = await signedIn();
    const nested = (depth: number) => '{"a":' + "[".repeat(depth) + "]".repeat(depth) + "}";
    const deep = await uploadForm(b, [{ name: "metadata", value: nested(8000) }, { name: "file", value: "hi", filename: "a.txt", type: "text/plain" }]);
    expect(deep.status).toBe(422);
    expect(await deep.json()).toMatchObject({ error: "validation_error", details: [{ field: "metadata", message: expect.stringContaining("32") }] });
    // After the file part as well (the stored file is discarded again).
    const late = await uploadForm(b, [{ name: "file", value: "hi", filename: "a.txt", type: "text/plain" }, { name: "metadata", value: nested(33) }]);
    expect(late.status).toBe(422);
    expect(await rowsOf(await emailOf(b))).toEqual([]);
    const ok = await uploadForm(b, [{ name: "metadata", value: nested(30) }, { name: "file", value: "hi", filename: "a.txt", type: "text/plain" }]);
    expect(ok.status).toBe(200);
    const info = await (await b.fetch(`/api/blobs/${(await ok.json()).id}/info`)).json();
    expect(JSON.stringify(info.metadata)).toBe(nested(30));
  });

  it("size limits are inclusive: an image of exactly 10 MiB is stored, one byte more is 413", async () => {
    const b = await signedIn();
    const exact = await uploadRaw(b, bytes(10 * MiB), "image/png");
    expect(exact.status).toBe(200);
    const over = await uploadRaw(b, bytes(10 * MiB + 1), "image/png");
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ error: "payload_too_large", message: `File size ${10 * MiB + 1} exceeds maximum ${10 * MiB} for type image/png` });
    const overForm = await uploadForm(b, [{ name: "file", value: bytes(10 * MiB + 1), filename: "a.png", type: "image/png" }]);
    expect(overForm.status).toBe(413);
    const exactForm = await uploadForm(b, [{ name: "file", value: bytes(10 * MiB), filename: "b.png", type: "image/png" }]);
    expect(exactForm.status).toBe(200);
    expect((await rowsOf(await emailOf(b))).map((r) => Number(r.size_bytes))).toEqual([10 * MiB, 10 * MiB]);
  });

  it("a 60 MiB audio upload is refused while streaming: no row, no object (not even a partial one), memory flat", async () => {
    // Its own workerd, so the peak memory measured is this upload's alone.
    const api = await startApi(apiEnv(), "/health/ready");
    // workerd itself: the process started, or its one child when a launcher starts workerd.
    const pid = (api as { workerPids?: () => number[] }).workerPids?.()[0] ?? api.pid;
    const peakMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
    try {
      const b = await signedIn(api.url);
      expect((await uploadRaw(b, bytes(MiB), "audio/mpeg")).status).toBe(200); // warm: pools, JIT
      const before = peakMiB();
      const audio = bytes(60 * MiB);
      const form = await uploadForm(b, [{ name: "file", value: audio, filename: "long.mp3", type: "audio/mpeg" }]);
      expect(form.status).toBe(413);
      // Sent without Content-Length (chunked): counted as it streams.
      const chunked = await b.fetch("/api/blobs/upload", {
        method: "POST",
        headers: { "Content-Type": "audio/mpeg" },
        body: new Blob([audio]).stream(),
        duplex: "half",
      } as RequestInit);
      expect(chunked.status).toBe(413);
      // Declared up front: refused from the Content-Length (the body is then read and dropped, so the client sees the 413).
      expect((await uploadRaw(b, audio, "audio/mpeg")).status).toBe(413);
      const grew = peakMiB() - before;
      expect(grew).toBeLessThan(40); // holding the 50 MiB it accepted before refusing would need more

      const rows = await sql("SELECT key, status FROM blobs b JOIN users u ON u.id = b.user_id WHERE u.email = $1 ORDER BY b.created_at", [await emailOf(b)]);
      expect(rows).toHaveLength(1); // the warm-up only
      const refusedKeys = await sql("SELECT key FROM blob_deletions WHERE key LIKE $1", [`${rows[0]!.key.split("/")[0]}/audio/%`]);
      expect(refusedKeys.length).toBe(2); // the two streamed attempts got keys, then were discarded
      for (const { key } of refusedKeys) {
        expect(await objectInStore(key)).toBeNull();
        expect(objectFileExists(key)).toBe(false);
      }
    } finally {
      await api.stop();
    }
  }, 120_000);

  it("answers refusals even while the client is still sending (the rest is read, not reset)", async () => {
    const b = await signedIn();
    const twoMiB = bytes(2 * MiB);
    for (let i = 0; i < 15; i++) {
      const attempts = [
        uploadForm(b, [{ name: "file", value: twoMiB, filename: "a.exe", type: "application/x-msdownload" }]),
        uploadRaw(b, twoMiB, "text/html"),
        uploadForm(b, [{ name: "file", value: bytes(10 * MiB + 1), filename: "a.png", type: "image/png" }]),
      ];
      // Before the remaining body was drained, these failed now and then with EPIPE / ECONNRESET.
      expect((await Promise.all(attempts)).map((r) => r.status)).toEqual([422, 422, 413]);
    }
  }, 60_000);

  it("takes concurrent uploads from one user, each intact", async () => {
    const b = await signedIn();
    const files = Array.from({ length: 8 }, (_, i) => bytes(256 * 1024 + i * 977));
    const results = await Promise.all(
      files.map((data, i) =>
        i % 2 === 0
          ? uploadRaw(b, data, "application/pdf", { filename: `doc-${i}.pdf` })
          : uploadForm(b, [{ name: "file", value: data, filename: `doc-${i}.pdf`, type: "application/pdf" }]),
      ),
    );
    const bodies = await Promise.all(results.map(async (r) => (expect(r.status).toBe(200), r.json())));
    expect(new Set(bodies.map((x) => x.id)).size).toBe(8);
    for (const [i, body] of bodies.entries()) {
      expect(body.filename).toBe(`doc-${i}.pdf`);
      const got = await b.fetch(`/api/blobs/${body.id}`);
      expect(Buffer.from(await got.arrayBuffer()).equals(files[i]!)).toBe(true);
    }
    const usage = await (await b.fetch("/api/blobs/usage")).json();
    expect(usage.total_bytes).toBe(files.reduce((n, f) => n + f.length, 0));
  });

  it("needs a session (401) and the frontend's Origin (403 csrf_violation)", async () => {
    const anonymous = await fetch(`${apiUrl()}/api/blobs/upload`, { method: "POST", headers: { "Content-Type": "text/plain", Origin: "http://localhost:3000" }, body: "x" });
    expect(anonymous.status).toBe(401);
    const b = await signedIn();
    const forged = await b.fetch("/api/blobs/upload", { method: "POST", headers: { "Content-Type": "text/plain", Origin: "https://evil.test" }, body: "x" });
    expect(forged.status).toBe(403);
    expect((await forged.json()).error).toBe("csrf_violation");
    expect(await rowsOf(await emailOf(b))).toEqual([]);
  });
});
