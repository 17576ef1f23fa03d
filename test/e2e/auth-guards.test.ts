import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productionEnv, startApi, type ApiProcess } from "../support/api";
import { Browser, person, randomIp } from "../support/browser";
import { freshRateWindow } from "../support/clock";
import { withClient } from "../support/database";
import { apiEnv, apiUrl, databaseUrl } from "../support/env";

const sql = (text: string, params: unknown[] = []) => withClient(databaseUrl(), async (c) => (await c.query(text, params)).rows);

/** A raw request with an arbitrary Host header (fetch will not send one). */
function rawGet(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, headers: { Host: host } }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("every protected route family answers 401 without a session", () => {
  it.each([
    ["GET", "/api"],
    ["GET", "/api/focus"],
    ["POST", "/api/market/purchase"],
    ["GET", "/reference/tracks"],
    ["GET", "/frames/analysis/00000000-0000-0000-0000-000000000000/manifest"],
    ["GET", "/blobs"],
    ["GET", "/api/blobs/usage"],
    ["GET", "/admin"],
    ["DELETE", "/admin/users/1"],
    ["GET", "/auth/sessions"],
    ["POST", "/auth/verify-age"],
    ["POST", "/auth/accept-tos"],
    ["POST", "/auth/signout-others"],
  ])("%s %s", async (method, path) => {
    const res = await fetch(apiUrl() + path, { method, headers: { Origin: "http://localhost:3000", "Content-Type": "application/json" }, body: method === "GET" ? undefined : "{}" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "unauthorized", message: "Unauthorized" });
  });
});

describe("CSRF", () => {
  const attempts: Array<[string, Record<string, string>]> = [
    ["no Origin and no Referer", {}],
    ["a look-alike origin (prefix)", { Origin: "http://localhost:3000.evil.test" }],
    ["a look-alike https origin", { Origin: "https://app.example.com.evil.test" }],
    ["another origin", { Origin: "https://evil.test" }],
    ["a Referer on a look-alike host", { Referer: "http://localhost:3000.evil.test/page" }],
    ["Sec-Fetch-Site cross-site", { Origin: "http://localhost:3000", "Sec-Fetch-Site": "cross-site" }],
    ["the string null", { Origin: "null" }],
  ];

  it.each(attempts)("refuses a state change with %s (403 csrf_violation, audited)", async (_label, headers) => {
    const b = new Browser(apiUrl());
    await b.signIn("google", person());
    const res = await b.fetch("/auth/signout", { method: "POST", headers: { Origin: "", ...headers } as Record<string, string> });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toBe("csrf_violation");
    expect((await b.fetch("/auth/sessions")).status).toBe(200); // still signed in: nothing happened
    const rows = await sql("SELECT event_type, status FROM audit_log WHERE request_id = $1", [res.headers.get("X-Request-Id")]);
    expect(rows).toEqual([{ event_type: "csrf_violation", status: "denied" }]);
  });

  it("audits a flood of forged requests from one address once a minute, refusing every one", async () => {
    await freshRateWindow(); // its counts must fall in one fixed one-minute window
    const ip = randomIp();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(apiUrl() + "/auth/signout", { method: "POST", headers: { Origin: "https://evil.test", "X-Forwarded-For": ip } });
      expect(res.status).toBe(403);
      ids.push(res.headers.get("X-Request-Id")!);
    }
    const rows = await sql("SELECT count(*)::int AS n FROM audit_log WHERE request_id = ANY($1::text[])", [ids]);
    expect(rows[0].n).toBe(1);
  });

  it("/admin checks the session, then the Origin of a state change, then the role (spec §1.3)", async () => {
    const b = new Browser(apiUrl());
    await b.signIn("google", person());
    const forged = await b.fetch("/admin/users/1", { method: "DELETE", headers: { Origin: "https://evil.test" } });
    expect(forged.status).toBe(403);
    expect((await forged.json()).error).toBe("csrf_violation");
    const notAdmin = await b.fetch("/admin/users/1", { method: "DELETE" });
    expect(notAdmin.status).toBe(403);
    expect((await notAdmin.json()).error).toBe("forbidden");
  });

  it("accepts an exact Origin, or an exact Referer origin when Origin is absent", async () => {
    const b = new Browser(apiUrl());
    await b.signIn("google", person());
    const viaReferer = await b.fetch("/auth/signout-others", { method: "POST", headers: { Origin: "", Referer: "http://localhost:3000/settings" } as Record<string, string> });
    expect(viaReferer.status).toBe(200);
    expect((await b.post("/auth/signout", undefined, { Origin: "https://app.example.com", "Sec-Fetch-Site": "same-site" })).status).toBe(200);
  });
});

describe("development auth bypass", () => {
  let dev: ApiProcess;
  beforeAll(async () => {
    dev = await startApi({ ...apiEnv(), AUTH_DEV_BYPASS: "true" });
  });
  afterAll(() => dev?.stop());

  it("on localhost, signs requests in as a real development user that can write", async () => {
    const session = await (await fetch(dev.url + "/auth/session")).json();
    expect(session.user).toMatchObject({ email: "dev@localhost", name: "Local Dev User", role: "admin" });
    expect(session.user.entitlements).toContain("admin:access");
    const write = await fetch(dev.url + "/auth/accept-tos", { method: "POST", headers: { Origin: "http://localhost:3000", "Content-Type": "application/json" }, body: JSON.stringify({ accepted: true, version: "dev" }) });
    expect(write.status).toBe(200);
    const rows = await sql("SELECT tos_version FROM users WHERE email = 'dev@localhost'");
    expect(rows).toEqual([{ tos_version: "dev" }]);
    for (const host of ["localhost", "[::1]:8080"]) expect((await rawGet(dev.url, "/auth/session", host)).status).toBe(200);
  });

  it.each(["api.example.com", "localhost.evil.test", "127.0.0.1.evil.test", "192.168.1.1:3000"])("refuses it for the host %s with 403", async (host) => {
    const res = await rawGet(dev.url, "/auth/session", host);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error).toBe("forbidden");
  });

  it("is off when the flag is unset (the shared API): no user without a session", async () => {
    expect((await (await fetch(apiUrl() + "/auth/session")).json()).user).toBeNull();
  });

  it("is a configuration error in production: readiness 503 and API 503, never a bypass", async () => {
    const prod = await startApi({ ...productionEnv(databaseUrl()), AUTH_DEV_BYPASS: "true" });
    try {
      const ready = await (await fetch(prod.url + "/health/ready")).json();
      expect(ready.checks.config.problems.map((p: { variable: string }) => p.variable)).toContain("AUTH_DEV_BYPASS");
      const res = await fetch(prod.url + "/auth/session");
      expect(res.status).toBe(503);
      expect((await res.json()).error).toBe("config_error");
    } finally {
      await prod.stop();
    }
  });
});

describe("rate limits (counted in PostgreSQL)", () => {
  it("limits sign-in per client address: 10 a minute, then 429 with Retry-After", async () => {
    await freshRateWindow(); // its counts must fall in one fixed one-minute window
    const ip = randomIp();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) {
      last = await fetch(apiUrl() + "/auth/signin/google", { headers: { "X-Forwarded-For": `203.0.113.7, ${ip}` }, redirect: "manual" });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 307)).toBe(true);
    expect(statuses[10]).toBe(429);
    expect(Number(last!.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect((await last!.json()).error).toBe("rate_limited");
    // Another client (the proxy-appended, rightmost address differs) is unaffected.
    const other = await fetch(apiUrl() + "/auth/signin/google", { headers: { "X-Forwarded-For": `${ip}, ${randomIp()}` }, redirect: "manual" });
    expect(other.status).toBe(307);
  });

  describe("per user on state-changing calls", () => {
    let limited: ApiProcess;
    beforeAll(async () => {
      limited = await startApi({ ...apiEnv(), RATE_LIMIT_API_PER_MINUTE: "3" });
    });
    afterAll(() => limited?.stop());

    it("answers 429 after the limit, audits it once, and counts across processes", async () => {
      await freshRateWindow(); // its counts must fall in one fixed one-minute window
      const who = person();
      const onShared = new Browser(apiUrl());
      await onShared.signIn("google", who);
      // Two calls through the shared process (limit 100) count towards the limited one's 3.
      for (let i = 0; i < 2; i++) expect((await onShared.post("/auth/accept-tos", { accepted: true })).status).toBe(200);
      const b = new Browser(limited.url);
      b.jar.set("session", onShared.cookie("session")!);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await b.post("/auth/accept-tos", { accepted: true })).status);
      // Rotation on accept-tos hands out a new cookie each time; the user is what is counted.
      expect(statuses).toEqual([200, 429, 429]);
      const rows = await sql(`SELECT count(*)::int AS n FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = $1 AND event_type = 'rate_limited'`, [who.email]);
      expect(rows[0].n).toBe(1);
    });

    it("does not count refused cross-site requests, so another site cannot use up a user's limit", async () => {
      await freshRateWindow(); // its counts must fall in one fixed one-minute window
      const b = new Browser(limited.url);
      await b.signIn("google", person());
      for (let i = 0; i < 4; i++) {
        const forged = await b.post("/auth/accept-tos", { accepted: true }, { Origin: "https://evil.example" });
        expect(forged.status).toBe(403);
      }
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await b.post("/auth/accept-tos", { accepted: true })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    });

    it("never refuses ending sessions: signing out the others and signing out work over the limit", async () => {
      await freshRateWindow(); // its counts must fall in one fixed one-minute window
      const who = person();
      const b = new Browser(limited.url);
      await b.signIn("google", who);
      const elsewhere = new Browser(limited.url);
      await elsewhere.signIn("google", who);
      for (let i = 0; i < 3; i++) await b.post("/auth/accept-tos", { accepted: true });
      expect((await b.post("/auth/accept-tos", { accepted: true })).status).toBe(429);
      expect((await b.post("/auth/signout-others")).status).toBe(200);
      expect((await (await elsewhere.fetch("/auth/session")).json()).user).toBeNull();
      expect((await b.post("/auth/signout")).status).toBe(200);
      expect((await (await b.fetch("/auth/session")).json()).user).toBeNull();
    });
  });
});
