// The presigned flow (upload-url → PUT straight to the store → complete) against s3rver, which
// checks SigV4 in presigned query strings: what is signed, what a changed URL or request gets,
// and expiry.
import { describe, expect, it } from "vitest";
import { S3BlobStore } from "../../worker/storage/s3";
import { bytes, MiB, objectInStore, signedIn, sql } from "../support/blobs";
import { storage } from "../support/env";

type B = Awaited<ReturnType<typeof signedIn>>;

async function uploadUrl(b: B, body: Record<string, unknown>) {
  const res = await b.post("/api/blobs/upload-url", body);
  expect(res.status).toBe(200);
  return res.json();
}

/** Our own S3 client code, run in Node with a clock set back, to get URLs that have expired. */
function storeSignedAt(msAgo: number): S3BlobStore {
  const s = storage();
  return new S3BlobStore(
    { endpoint: s.STORAGE_ENDPOINT!, bucket: s.STORAGE_BUCKET!, region: s.STORAGE_REGION!, accessKeyId: s.STORAGE_ACCESS_KEY_ID!, secretAccessKey: s.STORAGE_SECRET_ACCESS_KEY!, publicEndpoint: null },
    () => new Date(Date.now() - msAgo),
  );
}

describe("upload-url → PUT → complete", () => {
  it("returns id, key, url (PUT, 5 minutes, bound to the type and length) and the headers to send", async () => {
    const b = await signedIn();
    const before = Date.now();
    const body = await uploadUrl(b, { filename: "../shots/Day 1.png", mime_type: "image/png", size_bytes: 5 });
    const after = Date.now();
    const user = (await (await b.fetch("/auth/session")).json()).user;
    expect(body).toEqual({
      url: expect.any(String),
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/),
      method: "PUT",
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      key: `${user.id}/images/${body.id}.png`,
      headers: { "Content-Type": "image/png", "Content-Length": "5" },
    });
    const url = new URL(body.url);
    expect(url.pathname).toBe(`/${storage().STORAGE_BUCKET}/${body.key}`);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("300");
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host");
    expect(Date.parse(body.expires_at)).toBeGreaterThanOrEqual(before + 300_000 - 1000);
    expect(Date.parse(body.expires_at)).toBeLessThanOrEqual(after + 300_000 + 1000);

    // Pending: not listed, not readable, not counted.
    expect(await (await b.fetch("/api/blobs")).json()).toEqual([]);
    expect((await b.fetch(`/api/blobs/${body.id}`)).status).toBe(404);

    const put = await fetch(body.url, { method: "PUT", headers: body.headers, body: "abcde" });
    expect(put.status).toBe(200);
    const done = await b.post(`/api/blobs/${body.id}/complete`);
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ id: body.id, key: body.key, size_bytes: 5, mime_type: "image/png", category: "images", filename: "Day 1.png" });
    expect((await b.post(`/blobs/${body.id}/complete`)).status).toBe(200); // idempotent

    expect(await (await (await b.fetch(`/api/blobs/${body.id}`)).text())).toBe("abcde");
    const download = await (await b.fetch(`/api/blobs/${body.id}/download-url`)).json();
    expect(await (await fetch(download.url)).text()).toBe("abcde");
    expect(await (await b.fetch("/api/blobs/usage")).json()).toEqual({ total_bytes: 5, formatted: "5 bytes" });
  });

  it("the store refuses a PUT with another type or length, or to a changed URL", async () => {
    const b = await signedIn();
    const body = await uploadUrl(b, { filename: "a.mp3", mime_type: "audio/mpeg", size_bytes: 4 });
    const put = (url: string, headers: Record<string, string>, data = "abcd") => fetch(url, { method: "PUT", headers, body: data });
    const refused = async (res: Response, code: string) => {
      expect(res.status).toBe(403);
      expect(await res.text()).toContain(`<Code>${code}</Code>`);
    };
    await refused(await put(body.url, { "Content-Type": "text/html" }), "SignatureDoesNotMatch");
    // fetch sends the body's real length (6), not the signed 4.
    await refused(await put(body.url, { "Content-Type": "audio/mpeg" }, "abcdef"), "SignatureDoesNotMatch");
    const otherKey = body.url.replace(body.id, crypto.randomUUID());
    await refused(await put(otherKey, body.headers), "SignatureDoesNotMatch");
    const longer = new URL(body.url);
    longer.searchParams.set("X-Amz-Expires", "604800");
    await refused(await put(longer.toString(), body.headers), "SignatureDoesNotMatch");
    const forged = new URL(body.url);
    const sig = forged.searchParams.get("X-Amz-Signature")!;
    forged.searchParams.set("X-Amz-Signature", (sig[0] === "0" ? "1" : "0") + sig.slice(1));
    await refused(await put(forged.toString(), body.headers), "SignatureDoesNotMatch");
    expect(await objectInStore(body.key)).toBeNull();
    // The untouched URL still works.
    expect((await put(body.url, body.headers)).status).toBe(200);
  });

  it("expired presigned URLs are refused (PUT after 5 minutes, GET after an hour)", async () => {
    const key = `${crypto.randomUUID()}/other/${crypto.randomUUID()}.txt`;
    const stale = storeSignedAt(301_000);
    const putUrl = await stale.presignPut(key, { contentType: "text/plain", expiresInSeconds: 300 });
    const put = await fetch(putUrl, { method: "PUT", headers: { "Content-Type": "text/plain" }, body: "late" });
    expect(put.status).toBe(403);
    expect(await put.text()).toContain("Request has expired");
    // Signed just inside the window, the same request is accepted.
    const fresh = await storeSignedAt(290_000).presignPut(key, { contentType: "text/plain", expiresInSeconds: 300 });
    expect((await fetch(fresh, { method: "PUT", headers: { "Content-Type": "text/plain" }, body: "on time" })).status).toBe(200);

    const getUrl = await storeSignedAt(3601_000).presignGet(key, { expiresInSeconds: 3600, contentDisposition: 'attachment; filename="x.txt"' });
    const get = await fetch(getUrl);
    expect(get.status).toBe(403);
    expect(await get.text()).toContain("Request has expired");
    const okGet = await storeSignedAt(3500_000).presignGet(key, { expiresInSeconds: 3600 });
    expect(await (await fetch(okGet)).text()).toBe("on time");
  });

  it("complete: 409 before the PUT; an oversize or mistyped object is deleted with its row (422)", async () => {
    const b = await signedIn();
    const early = await uploadUrl(b, { filename: "x.png", mime_type: "image/png" });
    const notYet = await b.post(`/api/blobs/${early.id}/complete`);
    expect(notYet.status).toBe(409);
    expect((await notYet.json()).error).toBe("conflict");

    // Without size_bytes the length is not signed, so the check happens at complete.
    const big = bytes(10 * MiB + 1);
    expect((await fetch(early.url, { method: "PUT", headers: early.headers, body: big })).status).toBe(200);
    const tooBig = await b.post(`/api/blobs/${early.id}/complete`);
    expect(tooBig.status).toBe(422);
    expect(await tooBig.json()).toMatchObject({ error: "validation_error", message: `File size ${10 * MiB + 1} exceeds maximum ${10 * MiB} for type image/png` });
    expect(await objectInStore(early.key)).toBeNull();
    expect((await b.post(`/api/blobs/${early.id}/complete`)).status).toBe(404);

    // An object that reached the key some other way with another type is refused as well.
    const typed = await uploadUrl(b, { filename: "y.txt", mime_type: "text/plain" });
    const { client, url } = (await import("../support/blobs")).s3Client();
    expect((await client.fetch(url(typed.key), { method: "PUT", headers: { "Content-Type": "text/html" }, body: "<b>" })).status).toBe(200);
    const mistyped = await b.post(`/api/blobs/${typed.id}/complete`);
    expect(mistyped.status).toBe(422);
    expect((await mistyped.json()).message).toBe("Uploaded type text/html does not match text/plain");
    expect(await objectInStore(typed.key)).toBeNull();
  });

  it("complete: 404 once the upload has expired (a day), even before the sweep removed it", async () => {
    const b = await signedIn();
    const u = await uploadUrl(b, { filename: "old.txt", mime_type: "text/plain" });
    expect((await fetch(u.url, { method: "PUT", headers: u.headers, body: "late" })).status).toBe(200);
    await sql("UPDATE blobs SET created_at = now() - interval '25 hours' WHERE id = $1", [u.id]);
    const res = await b.post(`/api/blobs/${u.id}/complete`);
    expect(res.status).toBe(404);
    expect(await sql("SELECT status FROM blobs WHERE id = $1", [u.id])).toEqual([{ status: "pending" }]); // the sweep's to remove
    // Also when its object never arrived: not 409 "PUT it first", which would invite a PUT.
    const never = await uploadUrl(b, { filename: "never.txt", mime_type: "text/plain" });
    await sql("UPDATE blobs SET created_at = now() - interval '25 hours' WHERE id = $1", [never.id]);
    expect((await b.post(`/api/blobs/${never.id}/complete`)).status).toBe(404);
  });

  it("complete racing a DELETE of the same blob is 200 or 404, never 409 'PUT it first' (which would invite an orphan)", async () => {
    const b = await signedIn();
    for (let i = 0; i < 15; i++) {
      const u = await uploadUrl(b, { filename: `r${i}.txt`, mime_type: "text/plain" });
      expect((await fetch(u.url, { method: "PUT", headers: u.headers, body: "racing" })).status).toBe(200);
      const [complete, removed] = await Promise.all([b.post(`/api/blobs/${u.id}/complete`), b.fetch(`/api/blobs/${u.id}`, { method: "DELETE" })]);
      expect([200, 404], `complete answered ${complete.status}`).toContain(complete.status);
      expect(removed.status).toBe(200);
    }
  });

  it("validates the request: allow-list, size limit (inclusive), required fields, JSON", async () => {
    const b = await signedIn();
    const bad = await b.post("/api/blobs/upload-url", { filename: "a.html", mime_type: "text/html" });
    expect(bad.status).toBe(422);
    expect((await bad.json()).message).toBe("MIME type text/html not allowed");
    const over = await b.post("/blobs/upload-url", { filename: "a.wav", mime_type: "audio/wav", size_bytes: 50 * MiB + 1 });
    expect(over.status).toBe(422);
    expect((await over.json()).message).toBe(`File size ${50 * MiB + 1} exceeds maximum ${50 * MiB} for type audio/wav`);
    expect((await b.post("/blobs/upload-url", { filename: "a.wav", mime_type: "audio/wav", size_bytes: 50 * MiB })).status).toBe(200);
    const missing = await b.post("/api/blobs/upload-url", { mime_type: "text/plain" });
    expect(missing.status).toBe(422);
    expect((await missing.json()).details.map((d: { field: string }) => d.field)).toEqual(["filename"]);
    const notJson = await b.fetch("/api/blobs/upload-url", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "x" });
    expect(notJson.status).toBe(415);
  });
});

describe("the upload URL after complete", () => {
  async function completed(b: B, data: string) {
    const u = await uploadUrl(b, { filename: "a.txt", mime_type: "text/plain" }); // no size_bytes: the length is not signed
    expect((await fetch(u.url, { method: "PUT", headers: u.headers, body: data })).status).toBe(200);
    expect((await b.post(`/api/blobs/${u.id}/complete`)).status).toBe(200);
    return u as { id: string; key: string; url: string; headers: Record<string, string> };
  }

  it("an object replaced through the still-valid URL is not served (404, like a missing object)", async () => {
    const b = await signedIn();
    for (const replacement of ["vwxyz", "a longer replacement"]) {
      const u = await completed(b, "abcde");
      expect(await (await b.fetch(`/api/blobs/${u.id}`)).text()).toBe("abcde");
      expect((await fetch(u.url, { method: "PUT", headers: u.headers, body: replacement })).status).toBe(200);
      expect((await objectInStore(u.key))!.toString()).toBe(replacement); // the store took it
      for (const headers of [{}, { Range: "bytes=0-2" }]) {
        const res = await b.fetch(`/api/blobs/${u.id}`, { headers });
        expect(res.status, replacement).toBe(404);
        expect(await res.json()).toMatchObject({ error: "not_found", message: `Blob ${u.id} not found` });
      }
    }
  });

  it("a deleted blob's key stays queued until its upload URL is dead, so a late PUT cannot leave an orphan", async () => {
    const b = await signedIn();
    const u = await completed(b, "abcde");
    expect((await b.fetch(`/api/blobs/${u.id}`, { method: "DELETE" })).status).toBe(200);
    expect(await objectInStore(u.key)).toBeNull();
    const queued = await sql("SELECT not_before > now() AS later, not_before - now() > interval '9 minutes' AS waits FROM blob_deletions WHERE key = $1", [u.key]);
    expect(queued).toEqual([{ later: true, waits: true }]);
    // The URL still works: the object is back, and the queue entry will delete it again.
    expect((await fetch(u.url, { method: "PUT", headers: u.headers, body: "again" })).status).toBe(200);
    expect(await objectInStore(u.key)).not.toBeNull();
    expect(await sql("SELECT key FROM blob_deletions WHERE key = $1", [u.key])).toEqual([{ key: u.key }]);
  });
});

describe("pending uploads per user", () => {
  it("at most 20 at once: the 21st upload-url is 409 until one is completed or cancelled", async () => {
    const b = await signedIn();
    const pending = [];
    for (let i = 0; i < 20; i++) pending.push(await uploadUrl(b, { filename: `${i}.txt`, mime_type: "text/plain" }));
    const refused = await b.post("/api/blobs/upload-url", { filename: "21.txt", mime_type: "text/plain" });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: "conflict", message: expect.stringContaining("20 uploads") });
    // Other users are not affected.
    expect((await (await signedIn()).post("/api/blobs/upload-url", { filename: "a.txt", mime_type: "text/plain" })).status).toBe(200);
    // Completing one frees a slot; so does cancelling one (DELETE).
    expect((await fetch(pending[0].url, { method: "PUT", headers: pending[0].headers, body: "x" })).status).toBe(200);
    expect((await b.post(`/api/blobs/${pending[0].id}/complete`)).status).toBe(200);
    await uploadUrl(b, { filename: "21.txt", mime_type: "text/plain" });
    expect((await b.post("/api/blobs/upload-url", { filename: "22.txt", mime_type: "text/plain" })).status).toBe(409);
    expect((await b.fetch(`/api/blobs/${pending[1].id}`, { method: "DELETE" })).status).toBe(200);
    // Concurrent requests for the last slot: exactly one gets it.
    const burst = await Promise.all(Array.from({ length: 3 }, () => b.post("/api/blobs/upload-url", { filename: "x.txt", mime_type: "text/plain" })));
    expect(burst.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const user = (await (await b.fetch("/auth/session")).json()).user;
    expect(await sql("SELECT count(*)::int AS n FROM blobs WHERE user_id = $1 AND status = 'pending'", [user.id])).toEqual([{ n: 20 }]);
  });
});
