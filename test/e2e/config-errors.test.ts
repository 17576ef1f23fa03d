import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/postgres.mjs";
import { productionEnv, startApi, type ApiProcess } from "../support/api";
import { databaseUrl } from "../support/env";

describe("production configuration checks (own workerd processes)", () => {
  describe("with a bad SESSION_SECRET, AUTH_DEV_BYPASS=true and no AUTH_COOKIE_DOMAIN", () => {
    let api: ApiProcess;
    const secret = "too-short-secret-value";
    beforeAll(async () => {
      const env = { ...productionEnv(databaseUrl()), SESSION_SECRET: secret, AUTH_DEV_BYPASS: "true" };
      delete (env as Record<string, string>).AUTH_COOKIE_DOMAIN;
      api = await startApi(env);
    });
    afterAll(() => api.stop());

    it("readiness answers 503 naming each variable, never its value", async () => {
      const res = await fetch(api.url + "/health/ready");
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(text).not.toContain(secret);
      const body = JSON.parse(text);
      expect(body.status).toBe("not_ready");
      expect(body.checks.config.status).toBe("fail");
      const named = body.checks.config.problems.map((p: { variable: string }) => p.variable);
      expect(named).toEqual(expect.arrayContaining(["SESSION_SECRET", "AUTH_DEV_BYPASS", "AUTH_COOKIE_DOMAIN"]));
      // The database itself is fine and says so.
      expect(body.checks.database.status).toBe("ok");
    });

    it("API routes answer 503 config_error while liveness and /health stay up", async () => {
      const api503 = await fetch(api.url + "/api/anything");
      expect(api503.status).toBe(503);
      expect(await api503.json()).toMatchObject({ error: "config_error" });
      expect((await fetch(api.url + "/health/live")).status).toBe(200);
      expect((await fetch(api.url + "/health")).status).toBe(200);
    });
  });

  describe("with a malformed DATABASE_URL", () => {
    let api: ApiProcess;
    beforeAll(async () => {
      api = await startApi({ ...productionEnv(databaseUrl()), DATABASE_URL: "postgres//missing-colon" });
    });
    afterAll(() => api.stop());

    it("names DATABASE_URL and does not try to connect", async () => {
      const res = await fetch(api.url + "/health/ready");
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.checks.config.problems.map((p: { variable: string }) => p.variable)).toEqual(["DATABASE_URL"]);
      expect(body.checks.database.status).toBe("fail");
      expect(await (await fetch(api.url + "/health/db")).json()).toMatchObject({ error: "config_error" });
    });
  });

  // The deployment guide's first failure case: a DATABASE_URL that parses but does not work.
  describe("with a wrong DATABASE_URL (bad password, nothing listening)", () => {
    const secret = "not-the-password-1234";
    let wrongPassword: ApiProcess;
    let nothingThere: ApiProcess;
    beforeAll(async () => {
      const url = new URL(databaseUrl());
      url.password = secret;
      wrongPassword = await startApi({ ...productionEnv(url.toString()) });
      nothingThere = await startApi({ ...productionEnv(`postgres://app:${secret}@127.0.0.1:${await freePort()}/ignition`) });
    });
    afterAll(async () => {
      await wrongPassword?.stop();
      await nothingThere?.stop();
    });

    it("readiness says the database failed, with the connection error and where, but no password", async () => {
      for (const [api, reason] of [
        [wrongPassword, /password authentication failed/],
        [nothingThere, /cannot connect/],
      ] as const) {
        const res = await fetch(api.url + "/health/ready");
        expect(res.status).toBe(503);
        const text = await res.text();
        expect(text).not.toContain(secret);
        const body = JSON.parse(text);
        expect(body.checks.config.status).toBe("ok");
        expect(body.checks.database.status).toBe("fail");
        expect(body.checks.database.message).toMatch(/^cannot reach the database at 127\.0\.0\.1:\d+\/\w+ \(DATABASE_URL\): /);
        expect(body.checks.database.message).toMatch(reason);
        expect(body.checks.schema).toEqual({ status: "fail", message: "not checked: the database check failed" });
        // API routes say the database is unavailable (503), not an internal error.
        expect((await fetch(api.url + "/health/db")).status).toBe(503);
      }
    });
  });

  describe("with a valid production environment", () => {
    let api: ApiProcess;
    beforeAll(async () => {
      api = await startApi(productionEnv(databaseUrl()));
    });
    afterAll(() => api.stop());

    it("is ready, sends HSTS for its https public URL, and keeps /metrics off by default", async () => {
      const res = await fetch(api.url + "/health/ready");
      expect(res.status).toBe(200);
      expect(res.headers.get("Strict-Transport-Security")).toBe("max-age=31536000; includeSubDomains");
      expect((await fetch(api.url + "/metrics")).status).toBe(404);
    });
  });
});
