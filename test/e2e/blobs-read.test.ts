// Reading blobs back: streamed GET with Range, info, list, usage, download-url, delete, and
// per-user isolation (another user's id is 404 everywhere, exactly like an unknown id).
import { describe, expect, it } from "vitest";
import { startApi } from "../support/api";
import { bytes, holdingStore, MiB, objectInStore, signedIn, sql, uploadRaw } from "../support/blobs";
import { apiEnv } from "../support/env";

async function stored(b: Awaited<ReturnType<typeof signedIn>>, data: Uint8Array, type: string, filename?: string) {
  const res = await uploadRaw(b, data, type, { filename });
  expect(res.status).toBe(200);
  return res.json();
}

describe("GET /api/blobs/{id}", () => {
  it("streams the object with its type, length, ETag and an RFC 6266 filename", async () => {
    const b = await signedIn();
    const data = bytes(2 * MiB + 3);
    const blob = await stored(b, data, "audio/flac", "Café ☕.flac");
    const res = await b.fetch(`/api/blobs/${blob.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("audio/flac");
    expect(res.headers.get("Content-Length")).toBe(String(data.length));
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect(res.headers.get("ETag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.headers.get("Content-Disposition")).toBe(`inline; filename="Cafe _.flac"; filename*=UTF-8''Caf%C3%A9%20%E2%98%95.flac`);
    expect(res.headers.get("Content-Security-Policy")).toContain("sandbox");
    expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    const head = await b.fetch(`/api/blobs/${blob.id}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(data.length));
    expect(head.headers.get("Content-Type")).toBe("audio/flac");
    // Same under /blobs; documents and SVGs download rather than render.
    const svg = await stored(b, new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"), "image/svg+xml", "logo.svg");
    const svgRes = await b.fetch(`/blobs/${svg.id}`);
    expect(svgRes.headers.get("Content-Disposition")).toMatch(/^attachment; filename="logo.svg"/);
    expect(await svgRes.text()).toContain("<svg");
  });

  it("answers byte ranges with 206 and Content-Range, and 416 past the end", async () => {
    const b = await signedIn();
    const data = bytes(100_000);
    const { id } = await stored(b, data, "audio/ogg");
    const range = async (header: string) => {
      const res = await b.fetch(`/api/blobs/${id}`, { headers: { Range: header } });
      return { res, body: Buffer.from(await res.arrayBuffer()) };
    };
    for (const [header, start, end] of [
      ["bytes=0-9", 0, 9],
      ["bytes=50000-50099", 50000, 50099],
      ["bytes=99990-", 99990, 99999],
      ["bytes=-25", 99975, 99999],
      ["bytes=99000-200000", 99000, 99999],
    ] as const) {
      const { res, body } = await range(header);
      expect(res.status, header).toBe(206);
      expect(res.headers.get("Content-Range")).toBe(`bytes ${start}-${end}/100000`);
      expect(res.headers.get("Content-Length")).toBe(String(end - start + 1));
      expect(body.equals(data.subarray(start, end + 1))).toBe(true);
    }
    const past = await range("bytes=100000-");
    expect(past.res.status).toBe(416);
    expect(past.res.headers.get("Content-Range")).toBe("bytes */100000");
    // Several ranges, or nonsense, are ignored: the whole blob.
    for (const header of ["bytes=0-1,5-6", "bytes=9-2", "pages=1-2"]) {
      const { res, body } = await range(header);
      expect(res.status).toBe(200);
      expect(body.equals(data)).toBe(true);
    }
  });

  it("a 206 describes the bytes it carries, whatever span the store sent (s3rver answers bytes=0-0 with everything)", async () => {
    const b = await signedIn();
    const data = Buffer.from("0123456789");
    const { id } = await stored(b, data, "text/plain");
    for (const header of ["bytes=0-0", "bytes=3-3", "bytes=0-4"]) {
      const res = await b.fetch(`/api/blobs/${id}`, { headers: { Range: header } });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.headers.get("Content-Length"), header).toBe(String(body.length));
      if (res.status === 200) {
        expect(body.equals(data), header).toBe(true);
        expect(res.headers.get("Content-Range")).toBeNull();
        continue;
      }
      expect(res.status, header).toBe(206);
      const [, start, end, total] = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("Content-Range") ?? "")!.map(Number);
      expect(total).toBe(10);
      expect(body.equals(data.subarray(start, end! + 1)), header).toBe(true);
    }
    // Where the store honours the span, the answer is exactly that span.
    for (const [header, span, bytes] of [["bytes=3-3", "bytes 3-3/10", "3"], ["bytes=0-4", "bytes 0-4/10", "01234"]] as const) {
      const res = await b.fetch(`/api/blobs/${id}`, { headers: { Range: header } });
      expect(res.status, header).toBe(206);
      expect(res.headers.get("Content-Range"), header).toBe(span);
      expect(await res.text(), header).toBe(bytes);
    }
  });

  it("HEAD answers GET's status and headers with no body", async () => {
    const b = await signedIn();
    const { id } = await stored(b, bytes(3 * MiB), "audio/ogg");
    for (const headers of [{}, { Range: "bytes=10-19" }]) {
      const get = await b.fetch(`/api/blobs/${id}`, { headers });
      await get.body?.cancel();
      const head = await b.fetch(`/api/blobs/${id}`, { method: "HEAD", headers });
      expect(head.status).toBe(get.status);
      const relevant = (r: Response) => ["content-type", "content-length", "content-range", "etag", "content-disposition", "accept-ranges"].map((h) => r.headers.get(h));
      expect(relevant(head)).toEqual(relevant(get));
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it("HEAD cancels the download from the store that the GET handler started", async () => {
    const store = await holdingStore(); // sends 64 KiB of a large object, then waits for the client to go
    const api = await startApi({ ...apiEnv(), STORAGE_ENDPOINT: store.url }, "/health/ready");
    try {
      const b = await signedIn(api.url);
      const { id } = await stored(b, bytes(3 * MiB), "audio/ogg");
      const head = await b.fetch(`/api/blobs/${id}`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("Content-Length")).toBe(String(3 * MiB));
      expect(store.largeGets).toHaveLength(1);
      // Left alone, workerd keeps that download open (still open after 20 s when this was written).
      for (let i = 0; i < 100 && !store.largeGets[0]!.closed; i++) await new Promise((r) => setTimeout(r, 100));
      expect(store.largeGets[0]!.closed).toBe(true);
    } finally {
      await api.stop();
      await store.close();
    }
  }, 30_000);
});

describe("info, list, usage", () => {
  it("info gives BlobInfo; the list is newest first, filtered by category; usage sums the bytes", async () => {
    const b = await signedIn();
    const audio = await stored(b, bytes(1536), "audio/mpeg", "a.mp3");
    const image = await stored(b, bytes(1.5 * MiB), "image/webp", "b.webp");
    const zip = await stored(b, bytes(100), "application/x-zip-compressed", "c.zip");

    const info = await (await b.fetch(`/api/blobs/${image.id}/info`)).json();
    expect(info).toEqual({ ...image, uploaded_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/), etag: expect.stringMatching(/^[0-9a-f]{32}$/), metadata: null });

    const [row] = await sql(`SELECT to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM blobs WHERE id = $1`, [image.id]);
    expect(info.uploaded_at).toBe(row!.at); // the stored instant, microseconds included

    const all = await (await b.fetch("/api/blobs")).json();
    expect(all.map((x: { id: string }) => x.id)).toEqual([zip.id, image.id, audio.id]);
    expect(all[1]).toEqual(info);
    for (const [category, ids] of [["audio", [audio.id]], ["images", [image.id]], ["exports", [zip.id]], ["other", []], ["all", [zip.id, image.id, audio.id]]] as const) {
      const list = await (await b.fetch(`/blobs?category=${category}`)).json();
      expect(list.map((x: { id: string }) => x.id), category).toEqual(ids);
    }
    const bad = await b.fetch("/api/blobs?category=videos");
    expect(bad.status).toBe(422);
    expect((await bad.json()).details[0].field).toBe("category");

    const usage = await (await b.fetch("/api/blobs/usage")).json();
    expect(usage).toEqual({ total_bytes: 1536 + 1.5 * MiB + 100, formatted: "1.50 MB" });
    const fresh = await signedIn();
    expect(await (await fresh.fetch("/blobs/usage")).json()).toEqual({ total_bytes: 0, formatted: "0 bytes" });
    expect(await (await fresh.fetch("/blobs")).json()).toEqual([]);
  });
});

describe("download-url and delete", () => {
  it("download-url is a presigned GET valid one hour that plain fetch can use", async () => {
    const b = await signedIn();
    const data = bytes(4096);
    const { id } = await stored(b, data, "application/pdf", "report (final).pdf");
    const before = Date.now();
    const res = await b.fetch(`/api/blobs/${id}/download-url`);
    const after = Date.now();
    const body = await res.json();
    expect(body).toEqual({ url: expect.any(String), expires_at: expect.stringMatching(/\+00:00$/), method: "GET" });
    const url = new URL(body.url);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("3600");
    // Whole seconds, one hour after the request was handled.
    expect(Date.parse(body.expires_at)).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(Date.parse(body.expires_at)).toBeLessThanOrEqual(after + 3600_000 + 1000);
    const got = await fetch(body.url);
    expect(got.status).toBe(200);
    expect(got.headers.get("Content-Disposition")).toBe('attachment; filename="report__final_.pdf"');
    expect(Buffer.from(await got.arrayBuffer()).equals(data)).toBe(true);
  });

  it("delete removes the row and the object; a second delete is 404", async () => {
    const b = await signedIn();
    const blob = await stored(b, bytes(1000), "text/plain");
    expect(await objectInStore(blob.key)).not.toBeNull();
    const del = await b.fetch(`/blobs/${blob.id}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ success: true });
    expect(await objectInStore(blob.key)).toBeNull();
    for (const path of [`/api/blobs/${blob.id}`, `/api/blobs/${blob.id}/info`, `/api/blobs/${blob.id}/download-url`]) {
      expect((await b.fetch(path)).status).toBe(404);
    }
    const again = await b.fetch(`/api/blobs/${blob.id}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: "not_found", message: `Blob ${blob.id} not found` });
    expect(await (await b.fetch("/api/blobs/usage")).json()).toMatchObject({ total_bytes: 0 });
  });
});

describe("per-user isolation", () => {
  it("another user's blob is 404 on every by-id endpoint, and stays intact", async () => {
    const owner = await signedIn();
    const other = await signedIn();
    const data = bytes(777);
    const blob = await stored(owner, data, "image/gif");
    for (const prefix of ["/api/blobs", "/blobs"]) {
      for (const [method, path] of [
        ["GET", `${prefix}/${blob.id}`],
        ["GET", `${prefix}/${blob.id}/info`],
        ["GET", `${prefix}/${blob.id}/download-url`],
        ["POST", `${prefix}/${blob.id}/complete`],
        ["DELETE", `${prefix}/${blob.id}`],
      ] as const) {
        const res = await other.fetch(path, { method });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(await res.json()).toMatchObject({ error: "not_found", message: `Blob ${blob.id} not found` });
      }
    }
    expect(await (await other.fetch("/api/blobs")).json()).toEqual([]);
    expect((await objectInStore(blob.key))!.equals(data)).toBe(true);
    expect((await owner.fetch(`/api/blobs/${blob.id}/info`)).status).toBe(200);
  });

  it("a malformed or unknown id is 404 as well, and GET /usage is not taken for an id", async () => {
    const b = await signedIn();
    for (const id of ["not-a-uuid", "00000000-0000-4000-8000-000000000000", "..%2F..%2Fetc"]) {
      expect((await b.fetch(`/api/blobs/${id}/info`)).status).toBe(404);
    }
    expect((await b.fetch("/api/blobs/usage")).status).toBe(200);
    expect((await b.fetch("/api/blobs/usage", { method: "PUT" })).status).toBe(405);
  });
});
