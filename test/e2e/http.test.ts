import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type ApiProcess } from "../support/api";
import { newUser, sql } from "../support/economy";
import { apiEnv, apiUrl, version } from "../support/env";

const get = (path: string, init?: RequestInit) => fetch(apiUrl() + path, init);

describe("HTTP surface of the real workerd", () => {
  it("GET /health reports ok and the VERSION file", async () => {
    const res = await get("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: version() });
  });

  it("GET /health/live needs nothing and GET /health/ready checks config, database and schema", async () => {
    expect(await (await get("/health/live")).json()).toEqual({ status: "alive" });
    const ready = await get("/health/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { config: { status: "ok" }, database: { status: "ok" }, schema: { status: "ok" } } });
  });

  it("GET /api lists the modules this build serves, to a signed-in user", async () => {
    expect((await get("/api")).status).toBe(401);
    const u = await newUser();
    expect(await u.ok("GET", "/api")).toEqual({ version: version(), modules: ["focus", "quests", "habits", "goals", "market", "gamification", "blobs"] });
  });

  it("a literal path is never taken by a parameter route: a wrong method there is 405 with its own Allow", async () => {
    const u = await newUser();
    const upload = await u.call("GET", "/api/blobs/upload");
    expect(upload.status).toBe(405);
    expect(upload.headers.get("Allow")!.split(", ").sort()).toEqual(["OPTIONS", "POST"]);
    const usage = await u.call("DELETE", "/api/blobs/usage");
    expect(usage.status).toBe(405);
    expect(usage.headers.get("Allow")!.split(", ").sort()).toEqual(["GET", "HEAD", "OPTIONS"]);
    // The parameter route still takes everything else.
    expect((await u.call("GET", "/api/blobs/7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d")).status).toBe(404);
  });

  it("GET / is a short plain-text banner", async () => {
    const res = await get("/");
    expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(`Ignition API ${version()}\n`);
  });

  it("unknown routes answer 404 JSON and wrong methods 405 JSON with Allow", async () => {
    const missing = await get("/no/such/route");
    expect(missing.status).toBe(404);
    const body = await missing.json();
    expect(body).toMatchObject({ error: "not_found" });
    expect(body.request_id).toBe(missing.headers.get("X-Request-Id"));

    const wrong = await get("/health", { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("Allow")).toBe("GET, HEAD, OPTIONS");
    expect((await wrong.json()).error).toBe("method_not_allowed");
  });

  it("HEAD answers like GET without a body", async () => {
    const res = await get("/health", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const kept = await get("/health", { headers: { "X-Request-Id": "trace-0123456789" } });
    expect(kept.headers.get("X-Request-Id")).toBe("trace-0123456789");
    const replaced = await get("/health", { headers: { "X-Request-Id": "x" } });
    expect(replaced.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("sets the security headers on every response, errors included", async () => {
    for (const res of [await get("/health"), await get("/nope")]) {
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
      expect(res.headers.get("X-Frame-Options")).toBe("DENY");
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      // The shared API's public URL is http://localhost: no HSTS there (see config-errors for https).
      expect(res.headers.get("Strict-Transport-Security")).toBeNull();
    }
  });

  describe("CORS", () => {
    const preflight = (origin: string) =>
      get("/health", {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, idempotency-key" },
      });

    it("answers a preflight from a listed origin with credentials, methods, headers and Max-Age", async () => {
      const res = await preflight("https://app.example.com");
      expect(res.status).toBe(204);
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
      expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
      expect(res.headers.get("Access-Control-Allow-Methods")).toContain("PATCH");
      const allowHeaders = res.headers.get("Access-Control-Allow-Headers")!.toLowerCase();
      expect(allowHeaders).toContain("x-request-id");
      expect(allowHeaders).toContain("idempotency-key");
      expect(Number(res.headers.get("Access-Control-Max-Age"))).toBeGreaterThan(0);
      expect(res.headers.get("Vary")).toBe("Origin");
    });

    it("never reflects an unlisted origin, including look-alike prefixes", async () => {
      for (const origin of ["https://evil.test", "https://app.example.com.evil.test", "http://app.example.com", "null"]) {
        const pre = await preflight(origin);
        expect(pre.status).toBe(403);
        expect(pre.headers.get("Access-Control-Allow-Origin")).toBeNull();
        const res = await get("/health", { headers: { Origin: origin } });
        expect(res.status).toBe(200);
        expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
      }
    });

    it("adds CORS headers to actual responses for a listed origin", async () => {
      const res = await get("/health", { headers: { Origin: "http://localhost:3000" } });
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:3000");
      expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
      const exposed = res.headers.get("Access-Control-Expose-Headers")!.split(",").map((h) => h.trim());
      expect(exposed).toEqual(expect.arrayContaining(["X-Request-Id", "Content-Range", "Accept-Ranges", "Content-Disposition", "Allow"]));
      expect(res.headers.get("Vary")).toContain("Origin");
    });
  });
});

/** A raw HTTP/1.1 connection to `base` that records what comes back. */
async function rawConnection(base: string) {
  const url = new URL(base);
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise((resolve) => socket.once("connect", resolve));
  const conn = {
    socket,
    host: url.host,
    received: "",
    closed: false,
    /** Waits (50 ms steps, `tries` of them) until `done` holds or the connection closes. */
    async until(done: () => boolean, tries = 100) {
      for (let i = 0; i < tries && !done() && !conn.closed; i++) await new Promise((r) => setTimeout(r, 50));
    },
  };
  socket.on("data", (c) => (conn.received += c));
  socket.on("close", () => (conn.closed = true));
  return conn;
}

describe("an answer given before the body was read", () => {
  it("keeps the connection usable: the next request on it is answered", async () => {
    // Refusals that never read the body: 401 (no session) and 404 (no route) for POSTs with a
    // JSON body, then a GET, all on one keep-alive connection.
    const conn = await rawConnection(apiUrl());
    // Status lines (a response body ends without a line break, so the next one follows it directly).
    const statuses = () => [...conn.received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    const body = JSON.stringify({ name: "x".repeat(5000) });
    const post = (path: string) =>
      `POST ${path} HTTP/1.1\r\nHost: ${conn.host}\r\nOrigin: http://localhost:3000\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    try {
      conn.socket.write(post("/api/habits") + post("/no-such-route") + `GET /health HTTP/1.1\r\nHost: ${conn.host}\r\n\r\n`);
      await conn.until(() => statuses().length >= 3);
      expect(statuses()).toEqual([401, 404, 200]);
    } finally {
      conn.socket.destroy();
    }
  });

  it.each([
    ["sends a few bytes, then nothing", ""],
    ["waits for 100 Continue", "Expect: 100-continue\r\n"],
  ])("answers 413 for a declared JSON body over the limit, also when the client %s", async (_, expect100) => {
    const u = await newUser();
    const conn = await rawConnection(apiUrl());
    try {
      conn.socket.write(
        `POST /api/habits HTTP/1.1\r\nHost: ${conn.host}\r\nCookie: session=${u.cookie("session")}\r\nOrigin: http://localhost:3000\r\n` +
          `Content-Type: application/json\r\nContent-Length: 2000000\r\n${expect100}\r\n` + (expect100 ? "" : '{"name"'),
      );
      // The drain gives up after a few seconds at most; within the wait, the 413 must be there.
      await conn.until(() => conn.received.includes("HTTP/1.1 4"), 200);
      expect(conn.received).toMatch(/HTTP\/1\.1 413 /);
    } finally {
      conn.socket.destroy();
    }
  });

  it("does not wait for a body that does not come: the answer goes out anyway", async () => {
    const conn = await rawConnection(apiUrl());
    try {
      // 5 of 1000 bytes, then nothing: the refusal (401, no session) must not wait for the rest.
      conn.socket.write(`POST /api/habits HTTP/1.1\r\nHost: ${conn.host}\r\nOrigin: http://localhost:3000\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"nam`);
      await conn.until(() => conn.received.includes("HTTP/1.1"));
      expect(conn.received).toMatch(/^HTTP\/1\.1 401 /);
    } finally {
      conn.socket.destroy();
    }
  });
});

describe("a client that goes away mid-body", () => {
  // Counted in the metrics of an API process of its own: other files send 400s to the shared one.
  let api: ApiProcess;
  beforeAll(async () => {
    api = await startApi(apiEnv());
  });
  afterAll(() => api?.stop());

  it.each([
    ["a JSON body", "/api/habits", "Content-Type: application/json\r\nContent-Length: 1000\r\n", '{"name": "cut off'],
    ["a chunked raw upload", "/api/blobs/upload", "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n", "400\r\nonly part of the chunk"],
    [
      "a multipart upload",
      "/api/blobs/upload",
      "Content-Type: multipart/form-data; boundary=cut\r\nContent-Length: 100000\r\n",
      '--cut\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nthe start of the file',
    ],
  ])("is counted as the client's failure (400), not a server error (500): %s", async (_, route, headers, partial) => {
    const counts = async () => {
      const text = await (await fetch(api.url + "/metrics")).text();
      const count = (status: string) =>
        Number(new RegExp(`ignition_http_requests_total\\{[^}]*route="${route}"[^}]*method="POST"[^}]*status="${status}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { client: count("400"), server: count("500") };
    };
    const u = await newUser();
    const before = await counts();
    const { socket, host } = await rawConnection(api.url);
    socket.write(
      `POST ${route} HTTP/1.1\r\n` +
        `Host: ${host}\r\nCookie: session=${u.cookie("session")}\r\nOrigin: http://localhost:3000\r\n` +
        headers + "\r\n" + partial,
    );
    // Cut the connection once the API has taken the request: its session lookup counts the user's
    // write in rate_limits before the handler reads the body.
    const counted = async () =>
      (await sql<{ n: number }>("SELECT COALESCE(sum(count), 0)::int AS n FROM rate_limits WHERE key = $1", [`api:${u.id}`]))[0]!.n;
    for (let i = 0; i < 100 && (await counted()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await counted()).toBe(1);
    socket.destroy();
    const delta = async () => {
      const now = await counts();
      return { client: now.client - before.client, server: now.server - before.server };
    };
    let seen = await delta();
    for (let i = 0; i < 50 && seen.client === 0 && seen.server === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = await delta();
    }
    expect(seen).toEqual({ client: 1, server: 0 });
    // Nothing half-written: an upload cut off leaves no blob row behind.
    expect(await sql("SELECT id FROM blobs WHERE user_id = $1", [u.id])).toEqual([]);
  });
});
