// Helpers for the blob tests: signed-in browsers, uploads in both forms, and a direct look at the
// S3 server (signed requests with aws4fetch, and the folder s3rver keeps objects in).
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { expect } from "vitest";
import { Browser, person } from "./browser";
import { withClient } from "./database";
import { apiUrl, databaseUrl, storage } from "./env";

export const MiB = 1024 * 1024;

export async function signedIn(url = apiUrl()): Promise<Browser> {
  const b = new Browser(url);
  const res = await b.signIn("google", person());
  expect(res.status).toBe(302);
  return b;
}

export const sql = (text: string, params: unknown[] = []) => withClient(databaseUrl(), async (c) => (await c.query(text, params)).rows);

export function bytes(n: number): Buffer {
  return randomBytes(n);
}

/** POST /upload with the file as the body. */
export function uploadRaw(b: Browser, body: Uint8Array | string, type: string | null, opts: { prefix?: string; filename?: string } = {}) {
  const q = opts.filename === undefined ? "" : `?filename=${encodeURIComponent(opts.filename)}`;
  return b.fetch(`${opts.prefix ?? "/api/blobs"}/upload${q}`, {
    method: "POST",
    headers: type === null ? {} : { "Content-Type": type },
    body,
  });
}

/** POST /upload as multipart/form-data (what a browser's FormData sends). */
export function uploadForm(b: Browser, parts: Array<{ name: string; value: Uint8Array | string; filename?: string; type?: string }>, prefix = "/api/blobs") {
  const form = new FormData();
  for (const p of parts) {
    if (p.filename === undefined) form.append(p.name, typeof p.value === "string" ? p.value : new Blob([p.value]));
    else form.append(p.name, new Blob([p.value], p.type === undefined ? {} : { type: p.type }), p.filename);
  }
  return b.fetch(`${prefix}/upload`, { method: "POST", body: form });
}

/** Signs requests to the test S3 server like a client with the bucket's keys would. */
export function s3Client(): { client: AwsClient; url: (key: string) => string } {
  const s = storage();
  const client = new AwsClient({ accessKeyId: s.STORAGE_ACCESS_KEY_ID!, secretAccessKey: s.STORAGE_SECRET_ACCESS_KEY!, service: "s3", region: s.STORAGE_REGION!, retries: 0 });
  return { client, url: (key) => `${s.STORAGE_ENDPOINT}/${s.STORAGE_BUCKET}/${key}` };
}

/** The object as the S3 server has it (signed GET), or null when there is none. */
export async function objectInStore(key: string): Promise<Buffer | null> {
  const { client, url } = s3Client();
  const res = await client.fetch(url(key));
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** Whether s3rver has any file for the key (a partial write would show up here). */
export function objectFileExists(key: string): boolean {
  const s = storage();
  const parts = key.split("/");
  const name = parts.pop()!;
  return existsSync(join(s.directory, s.STORAGE_BUCKET!, ...parts, `${name}._S3rver_object`));
}
