import { randomBytes } from "node:crypto";
import { signSessionToken } from "../../scripts/lib/bench-fixtures.mjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type ApiProcess } from "../support/api";
import { Browser, person } from "../support/browser";
import { withClient } from "../support/database";
import { adminCli } from "../support/economy";
import { apiEnv, apiUrl, databaseUrl } from "../support/env";

async function signedIn(url = apiUrl(), who = person()) {
  const b = new Browser(url);
  const res = await b.signIn("google", who);
  expect(res.status).toBe(302);
  expect(b.cookie("session")).toBeDefined();
  return { b, who };
}

const me = async (b: Browser) => (await b.fetch("/auth/session")).json();
const status = async (b: Browser, path = "/auth/sessions") => (await b.fetch(path)).status;
const sql = (text: string, params: unknown[] = []) => withClient(databaseUrl(), async (c) => (await c.query(text, params)).rows);

describe("sessions", () => {
  it("signout ends the session server-side: the same cookie is refused afterwards", async () => {
    const { b } = await signedIn();
    const cookie = b.cookie("session")!;
    const out = await b.post("/auth/signout");
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().find((c) => c.startsWith("session="))).toMatch(/^session=; .*Max-Age=0/);
    const replay = new Browser(apiUrl());
    replay.jar.set("session", cookie);
    expect(await status(replay)).toBe(401);
    expect((await me(replay)).user).toBeNull();
    const audits = await sql("SELECT event_type, session_id IS NOT NULL AS has_session FROM audit_log WHERE request_id = $1", [out.headers.get("X-Request-Id")]);
    expect(audits).toEqual([{ event_type: "logout", has_session: true }]);
  });

  it("lists the caller's sessions and ends another one, which is refused on its very next request", async () => {
    const who = person();
    const { b: laptop } = await signedIn(apiUrl(), who);
    const { b: phone } = await signedIn(apiUrl(), who);
    const list = (await (await laptop.fetch("/auth/sessions")).json()).sessions;
    expect(list).toHaveLength(2);
    expect(list.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const other = list.find((s: { current: boolean }) => !s.current);
    expect(other).toMatchObject({ user_agent: "ignition-test-browser", ip_address: phone.ip });
    // Newest first; timestamps in the API's one format (§2.10: RFC 3339 UTC, microseconds).
    const stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
    for (const s of list) for (const k of ["created_at", "last_seen_at", "expires_at"]) expect(s[k]).toMatch(stamp);
    expect(list[0].created_at >= list[1].created_at).toBe(true);

    const revoked = await laptop.fetch(`/auth/sessions/${other.id}`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    const audits = await sql("SELECT event_type, resource_id FROM audit_log WHERE request_id = $1", [revoked.headers.get("X-Request-Id")]);
    expect(audits).toEqual([{ event_type: "session_revoked", resource_id: other.id }]);
    expect(await status(phone)).toBe(401);
    expect(await status(laptop)).toBe(200);
    // Someone else's session id is simply not found.
    const { b: stranger } = await signedIn();
    const mine = (await (await laptop.fetch("/auth/sessions")).json()).sessions[0].id;
    expect((await stranger.fetch(`/auth/sessions/${mine}`, { method: "DELETE" })).status).toBe(404);
    expect((await stranger.fetch(`/auth/sessions/not-a-uuid`, { method: "DELETE" })).status).toBe(404);
  });

  it("signout-others keeps only the current session", async () => {
    const who = person();
    const sessions = [await signedIn(apiUrl(), who), await signedIn(apiUrl(), who), await signedIn(apiUrl(), who)];
    const res = await sessions[0]!.b.post("/auth/signout-others");
    expect(await res.json()).toEqual({ revoked: 2 });
    expect(await status(sessions[0]!.b)).toBe(200);
    expect(await status(sessions[1]!.b)).toBe(401);
    expect(await status(sessions[2]!.b)).toBe(401);
  });

  it("refuses an expired session and an idle one", async () => {
    const a = await signedIn();
    const b = await signedIn();
    await sql("UPDATE sessions SET expires_at = now() - interval '1 second' FROM users u WHERE u.id = sessions.user_id AND u.email = $1", [a.who.email]);
    await sql("UPDATE sessions SET idle_expires_at = now() - interval '1 second' FROM users u WHERE u.id = sessions.user_id AND u.email = $1", [b.who.email]);
    expect(await status(a.b)).toBe(401);
    expect(await status(b.b)).toBe(401);
  });

  it("refuses forged cookies: a bad signature, or a good signature over an unknown session", async () => {
    const { b } = await signedIn();
    const [h, p, s] = b.cookie("session")!.split(".");
    const forged = new Browser(apiUrl());
    forged.jar.set("session", `${h}.${p}.${s!.slice(0, -4)}AAAA`);
    expect(await status(forged)).toBe(401);
    // Correctly signed with the API's own secret, but naming a session that does not exist.
    const unknown = await signSessionToken(randomBytes(32).toString("base64url"), apiEnv().SESSION_SECRET!);
    forged.jar.set("session", unknown);
    expect(await status(forged)).toBe(401);
    expect((await me(forged)).user).toBeNull();
  });

  it("verify-age and accept-tos rotate the session id and send the new cookie", async () => {
    const { b, who } = await signedIn();
    const first = b.cookie("session")!;
    const old = new Browser(apiUrl());
    old.jar.set("session", first);

    expect((await b.post("/auth/verify-age", { is_13_or_older: "yes" })).status).toBe(422);
    const denied = await b.post("/auth/verify-age", { is_13_or_older: false });
    expect(denied.status).toBe(403);
    const res = await b.post("/auth/verify-age", { is_13_or_older: true });
    expect(res.status).toBe(200);
    const second = b.cookie("session")!;
    expect(second).not.toBe(first);
    expect(await status(old)).toBe(401);
    expect((await me(b)).user).toMatchObject({ email: who.email, age_verified: true });

    expect((await b.post("/auth/accept-tos", { accepted: false })).status).toBe(400);
    expect((await b.post("/auth/accept-tos", { accepted: true, version: "2.1" })).status).toBe(200);
    expect(b.cookie("session")).not.toBe(second);
    expect((await me(b)).user.tos_accepted).toBe(true);

    const rows = await sql(
      `SELECT s.id, s.rotated_from, s.revoked_at IS NOT NULL AS revoked, u.tos_version FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1 ORDER BY s.created_at`,
      [who.email],
    );
    expect(rows.map((r) => r.revoked)).toEqual([true, true, false]);
    expect(rows[1].rotated_from).toBe(rows[0].id);
    expect(rows[2].rotated_from).toBe(rows[1].id);
    expect(rows[2].tos_version).toBe("2.1");
    const audits = await sql(`SELECT details->>'reason' AS reason FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = $1 AND event_type = 'session_rotated' ORDER BY reason`, [who.email]);
    expect(audits.map((r) => r.reason)).toEqual(["age_verification", "tos_acceptance"]);
  });

  it("a role change (admin CLI) gives the user a new session id on the next request, and opens /admin", async () => {
    const { b, who } = await signedIn();
    expect(await status(b, "/admin")).toBe(403);
    const granted = adminCli(["grant-role", who.email!, "admin"]);
    expect(granted.stderr).toBe("");
    expect(granted.stdout).toContain(`granted admin to ${who.email}`);
    const before = b.cookie("session");
    const res = await b.fetch("/auth/session");
    expect((await res.json()).user.role).toBe("admin");
    expect(b.cookie("session")).not.toBe(before);
    expect(await status(b, "/admin")).toBe(404); // through the gate; the admin module has no routes yet

    expect(adminCli(["revoke-role", who.email!, "admin"]).stdout).toContain("revoked admin");
    expect((await me(b)).user.role).toBe("user");
    expect(await status(b, "/admin")).toBe(403);
    // A grant that has expired stops counting at once, whatever users.role still says.
    expect(adminCli(["grant-role", who.email!, "admin"]).stdout).toContain("granted");
    expect((await me(b)).user.role).toBe("admin");
    await sql("UPDATE user_roles SET expires_at = now() - interval '1 second' FROM users u WHERE u.id = user_roles.user_id AND u.email = $1", [who.email]);
    expect((await me(b)).user.role).toBe("user");
    expect(await status(b, "/admin")).toBe(403);
    expect(adminCli(["grant-role", "nobody@example.com", "admin"]).stderr).toMatch(/no user with email/);
    expect(adminCli(["grant-role", who.email!, "emperor"]).stderr).toMatch(/unknown role/);
    const audits = await sql(`SELECT event_type FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = $1 AND event_type LIKE 'role_%' ORDER BY event_type`, [who.email]);
    expect(audits.map((r) => r.event_type)).toEqual(["role_granted", "role_granted", "role_revoked"]);
  });

  it("ending the current session by its id, in any letter case, also clears the cookie", async () => {
    const { b } = await signedIn();
    const { sessions } = await (await b.fetch("/auth/sessions")).json();
    const current = sessions.find((x: { current: boolean }) => x.current);
    const res = await b.fetch(`/auth/sessions/${current.id.toUpperCase()}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(b.cookie("session")).toBeUndefined();
  });

  it("parallel requests after a role change rotate the session once", async () => {
    const { b, who } = await signedIn();
    const cli = adminCli(["grant-role", who.email!, "moderator"]);
    expect(cli.stderr).toBe("");
    const replies = await Promise.all(Array.from({ length: 8 }, () => b.fetch("/auth/session")));
    for (const r of replies) expect(r.status).toBe(200);
    const live = await sql(
      "SELECT count(*)::int AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1 AND s.revoked_at IS NULL",
      [who.email],
    );
    expect(live[0].n).toBe(1);
    const rotated = await sql(
      "SELECT count(*)::int AS n FROM audit_log a JOIN users u ON u.id = a.user_id WHERE u.email = $1 AND a.event_type = 'session_rotated'",
      [who.email],
    );
    expect(rotated[0].n).toBe(1);
    expect((await me(b)).user.role).toBe("moderator");
  });

  it("deleting a user ends all of their sessions", async () => {
    const { b, who } = await signedIn();
    await sql("DELETE FROM users WHERE email = $1", [who.email]);
    expect(await status(b)).toBe(401);
  });

  describe("secret rotation", () => {
    let rotated: ApiProcess;
    let replaced: ApiProcess;
    beforeAll(async () => {
      const oldSecret = apiEnv().SESSION_SECRET!;
      rotated = await startApi({ ...apiEnv(), SESSION_SECRET: "a-brand-new-session-secret-0123456789xyz", SESSION_SECRET_PREVIOUS: oldSecret });
      replaced = await startApi({ ...apiEnv(), SESSION_SECRET: "a-brand-new-session-secret-0123456789xyz" });
    });
    afterAll(async () => {
      await rotated?.stop();
      await replaced?.stop();
    });

    it("accepts cookies signed with SESSION_SECRET_PREVIOUS, and only while it is set", async () => {
      const { b } = await signedIn();
      const onRotated = new Browser(rotated.url);
      onRotated.jar.set("session", b.cookie("session")!);
      expect(await status(onRotated)).toBe(200);
      const onReplaced = new Browser(replaced.url);
      onReplaced.jar.set("session", b.cookie("session")!);
      expect(await status(onReplaced)).toBe(401);
    });
  });
});
