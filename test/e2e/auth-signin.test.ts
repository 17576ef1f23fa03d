import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { startApi } from "../support/api";
import { Browser, FRONTEND, person } from "../support/browser";
import { withClient } from "../support/database";
import { apiEnv, apiUrl, databaseUrl } from "../support/env";
import { AZURE_TENANT } from "../support/oidc-provider";

const auditRows = (requestIds: string[]) =>
  withClient(databaseUrl(), async (c) =>
    (await c.query("SELECT event_type, status, details, host(ip_address) AS ip, user_agent, request_id FROM audit_log WHERE request_id = ANY($1) ORDER BY event_type", [requestIds])).rows,
  );

async function expectFailure(res: Response, code: string, b: Browser) {
  expect(res.status).toBe(302);
  expect(res.headers.get("Location")).toBe(`${FRONTEND}/login?error=${code}`);
  expect(b.cookie("session")).toBeUndefined();
  const rows = await auditRows([res.headers.get("X-Request-Id")!]);
  expect(rows.map((r) => r.event_type)).toEqual(["login_failed"]);
}

/** The browser's sign-in binding cookies (one per flow), as [name, value]. */
const flowCookies = (b: Browser) => [...b.jar].filter(([name]) => name.startsWith("oauth_flow_"));

describe("sign-in with Google and Microsoft (stand-in provider, real workerd)", () => {
  it("GET /auth/providers lists the configured providers", async () => {
    const res = await fetch(apiUrl() + "/auth/providers");
    expect(await res.json()).toEqual([
      { id: "google", name: "Google", enabled: true },
      { id: "azure", name: "Microsoft", enabled: true },
    ]);
  });

  it("signin redirects to the provider with PKCE S256, state, nonce and the exact redirect_uri", async () => {
    const b = new Browser(apiUrl());
    const res = await b.fetch("/auth/signin/google");
    expect(res.status).toBe(307);
    const to = new URL(res.headers.get("Location")!);
    expect(to.pathname).toBe("/google/authorize");
    expect(to.searchParams.get("redirect_uri")).toBe(`${apiUrl()}/auth/callback/google`);
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    expect(to.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get("scope")).toBe("openid email profile");
    expect(flowCookies(b)).toHaveLength(1);
    expect(res.headers.getSetCookie().find((c) => /^oauth_flow_[A-Za-z0-9_-]{12}=/.test(c))).toMatch(/HttpOnly; SameSite=Lax/);
  });

  it("a full Google round trip creates the user, a hashed session and an HttpOnly cookie", async () => {
    const b = new Browser(apiUrl());
    const who = person();
    const res = await b.signIn("google", who, "/habits?tab=today");
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe(`${FRONTEND}/habits?tab=today`);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("session="))!;
    expect(setCookie).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+/);
    const cookie = b.cookie("session")!;

    const session = await (await b.fetch("/auth/session")).json();
    expect(session.user).toMatchObject({ email: who.email, name: who.name, role: "user", age_verified: false, tos_accepted: false });
    expect(session.user.entitlements).toEqual(["feedback:write", "quests:read", "users:read", "users:write"]);

    const rows = await withClient(databaseUrl(), async (c) =>
      (await c.query(
        `SELECT s.token_hash, s.user_agent, host(s.ip_address) AS ip, a.provider, a.provider_account_id
         FROM sessions s JOIN accounts a ON a.user_id = s.user_id JOIN users u ON u.id = s.user_id WHERE u.email = $1`,
        [who.email],
      )).rows,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user_agent: "ignition-test-browser", ip: b.ip, provider: "google", provider_account_id: who.sub });
    // Only a hash is stored: the row holds SHA-256 of the session id the cookie carries, not the id.
    const sid: string = JSON.parse(Buffer.from(cookie.split(".")[1]!, "base64url").toString()).sid;
    expect(sid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(rows[0].token_hash)).toEqual(createHash("sha256").update(sid).digest());

    const audits = await auditRows([res.headers.get("X-Request-Id")!]);
    expect(audits.map((r) => r.event_type)).toEqual(["login", "user_created"]);
    expect(audits[0]).toMatchObject({ ip: b.ip, user_agent: "ignition-test-browser", status: "success" });
    expect(audits[0].details).toEqual({ provider: "google", new_user: true });

    // The next sign-in finds the account (spec §2.2.1 path 1).
    const again = await new Browser(apiUrl()).signIn("google", who);
    const later = await auditRows([again.headers.get("X-Request-Id")!]);
    expect(later.map((r) => [r.event_type, r.details])).toEqual([["login", { provider: "google", account_linked: true }]]);
  });

  it("a full Microsoft round trip (multi-tenant: issuer filled with the token's tid)", async () => {
    const b = new Browser(apiUrl());
    const who = person({ tid: AZURE_TENANT, xms_edov: true });
    const res = await b.signIn("azure", who);
    expect(res.headers.get("Location")).toBe(`${FRONTEND}/today`);
    expect((await (await b.fetch("/auth/session")).json()).user.email).toBe(who.email);
  });

  it("a Microsoft token whose issuer does not match its tid is refused", async () => {
    const b = new Browser(apiUrl());
    const res = await b.signIn("azure", person({ tid: AZURE_TENANT, tamper: { iss: "http://127.0.0.1:1/azure/11111111-1111-1111-1111-111111111111/v2.0" } }));
    await expectFailure(res, "invalid_token", b);
  });

  it.each([
    ["wrong nonce", { nonce: "not-the-nonce" }],
    ["wrong audience", { aud: "someone-elses-client" }],
    ["wrong issuer", { iss: "https://evil.example.com" }],
    ["expired token", { expiredSecondsAgo: 3600 }],
    ["signature from a key not in the JWKS", { foreignKey: true }],
  ])("refuses an ID token with a %s", async (_label, tamper) => {
    const b = new Browser(apiUrl());
    await expectFailure(await b.signIn("google", person({ tamper })), "invalid_token", b);
  });

  it("two sign-ins started in one browser (two tabs) both finish", async () => {
    const b = new Browser(apiUrl());
    const who = person();
    const first = await b.fetch("/auth/signin/google");
    const second = await b.fetch("/auth/signin/google?redirect=/habits");
    expect(flowCookies(b)).toHaveLength(2);
    const firstCallback = await b.authorize(first.headers.get("Location")!, who);
    const secondCallback = await b.authorize(second.headers.get("Location")!, who);
    expect((await b.fetch(firstCallback)).headers.get("Location")).toBe(`${FRONTEND}/today`);
    expect((await b.fetch(secondCallback)).headers.get("Location")).toBe(`${FRONTEND}/habits`);
  });

  it("refuses a replayed state (single use)", async () => {
    const b = new Browser(apiUrl());
    const start = await b.fetch("/auth/signin/google");
    const callback = await b.authorize(start.headers.get("Location")!, person());
    const [flowCookie] = flowCookies(b);
    expect((await b.fetch(callback)).headers.get("Location")).toBe(`${FRONTEND}/today`);
    expect(flowCookies(b)).toEqual([]); // cleared by the callback
    b.jar.set(flowCookie![0], flowCookie![1]);
    b.jar.delete("session");
    await expectFailure(await b.fetch(callback), "invalid_state", b);
  });

  it("refuses a state started for another provider, or in another browser", async () => {
    const b = new Browser(apiUrl());
    const start = await b.fetch("/auth/signin/google");
    const callback = new URL(await b.authorize(start.headers.get("Location")!, person()));
    const onAzure = `/auth/callback/azure${callback.search}`;
    await expectFailure(await b.fetch(onAzure), "invalid_state", b);

    const victim = new Browser(apiUrl());
    const attacker = new Browser(apiUrl());
    const s2 = await attacker.fetch("/auth/signin/google");
    const cb2 = await attacker.authorize(s2.headers.get("Location")!, person());
    // Login CSRF: the attacker's callback URL opened in the victim's browser has no flow cookie.
    await expectFailure(await victim.fetch(cb2), "invalid_state", victim);
  });

  it("refuses a state older than 10 minutes", async () => {
    const b = new Browser(apiUrl());
    const start = await b.fetch("/auth/signin/google");
    const state = new URL(start.headers.get("Location")!).searchParams.get("state")!;
    const callback = await b.authorize(start.headers.get("Location")!, person());
    await withClient(databaseUrl(), (c) =>
      c.query("UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE state_hash = $1", [createHash("sha256").update(state).digest()]),
    );
    await expectFailure(await b.fetch(callback), "invalid_state", b);
  });

  it("signing in again ends the session the browser already had", async () => {
    const b = new Browser(apiUrl());
    await b.signIn("google", person());
    const first = b.cookie("session")!;
    await b.signIn("google", person());
    expect(b.cookie("session")).not.toBe(first);
    const old = new Browser(apiUrl());
    old.jar.set("session", first);
    expect((await old.fetch("/auth/sessions")).status).toBe(401);
  });

  it("answers provider_unavailable (not a 500) when the provider cannot be reached or names another issuer", async () => {
    const base = new URL(apiEnv().GOOGLE_ISSUER_URL!).origin;
    for (const issuer of ["http://127.0.0.1:9", `${base}/azure/common/v2.0`]) {
      const api = await startApi({ ...apiEnv(), GOOGLE_ISSUER_URL: issuer });
      try {
        const res = await new Browser(api.url).fetch("/auth/signin/google");
        expect(res.status).toBe(302);
        expect(res.headers.get("Location")).toBe(`${FRONTEND}/login?error=provider_unavailable`);
      } finally {
        await api.stop();
      }
    }
  });

  it("sends the browser back to the frontend when the user cancels at the provider", async () => {
    const b = new Browser(apiUrl());
    await expectFailure(await b.signIn("google", null), "access_denied", b);
  });

  it("answers 400 JSON for a callback without code or state, and 404 for an unknown provider", async () => {
    const res = await fetch(apiUrl() + "/auth/callback/google?state=x", { headers: { "X-Forwarded-For": "10.9.9.9" } });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("bad_request");
    const unknown = await fetch(apiUrl() + "/auth/signin/facebook");
    expect(unknown.status).toBe(404);
  });

  it("refuses a failed code exchange", async () => {
    const b = new Browser(apiUrl());
    await expectFailure(await b.signIn("google", person({ failExchange: true })), "code_exchange_failed", b);
  });

  it.each(["//evil.test/x", "https://evil.test/", "/\\evil.test", "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1", "evil.test"])(
    "never redirects off the frontend (redirect=%s)",
    async (target) => {
      const b = new Browser(apiUrl());
      const res = await b.signIn("google", person(), target);
      const location = res.headers.get("Location")!;
      expect(new URL(location).origin).toBe(FRONTEND);
      expect(location).not.toContain("evil");
      expect(location).not.toMatch(/[\r\n]/);
    },
  );

  describe("account linking", () => {
    it("parallel first sign-ins of one new identity all succeed, into one user", async () => {
      const who = person();
      const browsers = [0, 1, 2, 3].map(() => new Browser(apiUrl()));
      const results = await Promise.all(browsers.map((b) => b.signIn("google", who)));
      expect(results.map((r) => r.headers.get("Location"))).toEqual(browsers.map(() => `${FRONTEND}/today`));
      const ids = await Promise.all(browsers.map(async (b) => (await (await b.fetch("/auth/session")).json()).user.id));
      expect(new Set(ids).size).toBe(1);
    });

    it("identifies accounts by provider and subject, not by email", async () => {
      const who = person();
      const b1 = new Browser(apiUrl());
      await b1.signIn("google", who);
      const first = (await (await b1.fetch("/auth/session")).json()).user.id;
      const b2 = new Browser(apiUrl());
      await b2.signIn("google", { ...who, email: `changed-${who.email}` });
      expect((await (await b2.fetch("/auth/session")).json()).user.id).toBe(first);
    });

    it("links a new provider to an existing user only when the email is verified", async () => {
      const who = person();
      const g = new Browser(apiUrl());
      await g.signIn("google", who);
      const userId = (await (await g.fetch("/auth/session")).json()).user.id;

      const unverified = new Browser(apiUrl());
      await expectFailure(await unverified.signIn("azure", { sub: `az-${who.sub}`, email: who.email, tid: AZURE_TENANT }), "account_conflict", unverified);

      const verified = new Browser(apiUrl());
      const res = await verified.signIn("azure", { sub: `az2-${who.sub}`, email: who.email!.toUpperCase(), tid: AZURE_TENANT, xms_edov: true, name: "Same Person" });
      expect(res.headers.get("Location")).toBe(`${FRONTEND}/today`);
      expect((await (await verified.fetch("/auth/session")).json()).user.id).toBe(userId);
      const audits = await auditRows([res.headers.get("X-Request-Id")!]);
      // Sorted by name. Spec §2.2.1 path 2, without the old code's new_user:true on the login.
      expect(audits.map((r) => [r.event_type, r.details])).toEqual([
        ["account_linked", { provider: "azure", email: who.email!.toLowerCase() }], // as stored
        ["login", { provider: "azure", account_linked: true }],
      ]);
    });

    it("never links a verified sign-in into an account created from an unverified email (pre-account takeover)", async () => {
      const victim = person();
      // Someone claims the victim's address through a provider that does not verify it...
      const squatter = new Browser(apiUrl());
      await squatter.signIn("azure", { sub: `az-${victim.sub}`, email: victim.email, tid: AZURE_TENANT });
      const squatterId = (await (await squatter.fetch("/auth/session")).json()).user.id;
      // ...then the owner signs in with a provider that does: refused, not let into that account.
      const owner = new Browser(apiUrl());
      await expectFailure(await owner.signIn("google", victim), "account_conflict", owner);
      const accounts = await withClient(databaseUrl(), async (c) => (await c.query("SELECT provider FROM accounts WHERE user_id = $1", [squatterId])).rows);
      expect(accounts).toEqual([{ provider: "azure-ad" }]);
    });
  });
});
