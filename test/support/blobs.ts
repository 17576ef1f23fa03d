// Helpers for the blob tests: signed-in browsers, uploads in both forms, a direct look at the S3
// server (signed requests with aws4fetch, and the folder s3rver keeps objects in), and a proxy
// in front of it that holds large downloads open.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
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

export interface HoldingStore {
  /** Use as STORAGE_ENDPOINT: everything is passed on to the test S3 server (Host kept, so signatures hold). */
  url: string;
  /** One entry per GET of an object of 1 MiB or more: whether our side of it has been closed. */
  largeGets: Array<{ closed: boolean }>;
  close(): Promise<void>;
}

/**
 * A proxy in front of the S3 server that sends only the first 64 KiB of a large object and then
 * holds the rest until the client goes away, so a test can see whether a download was cancelled.
 */
export async function holdingStore(): Promise<HoldingStore> {
  const target = new URL(storage().STORAGE_ENDPOINT!);
  const largeGets: HoldingStore["largeGets"] = [];
  const server = createServer((req, res) => {
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode!, upRes.headers);
      if (req.method !== "GET" || upRes.statusCode !== 200 || Number(upRes.headers["content-length"]) < MiB) return void upRes.pipe(res);
      const get = { closed: false };
      largeGets.push(get);
      upRes.once("data", (chunk: Buffer) => {
        upRes.pause();
        res.write(chunk.subarray(0, 64 * 1024));
      });
      res.on("close", () => {
        get.closed = true;
        upRes.destroy();
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    largeGets,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
