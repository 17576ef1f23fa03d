// Helpers for the economy's end-to-end tests: signed-in users, JSON calls, admin grants, coins,
// and the ledger invariant read straight from PostgreSQL.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "vitest";
import { ROOT } from "../../scripts/lib/runtime.mjs";
import { Browser, person } from "./browser";
import { withClient } from "./database";
import { apiUrl, databaseUrl } from "./env";

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export class User extends Browser {
  id = "";
  email = "";

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await this.fetch(path, {
      method,
      headers: { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  }

  get(path: string): Promise<Reply> {
    return this.call("GET", path);
  }

  send(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply> {
    return this.call("POST", path, body, headers);
  }

  /** GET or POST that must answer 200; returns `data` (or the whole body when there is none). */
  async ok(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<any> {
    const r = await this.call(method, path, body);
    if (r.status !== 200) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body !== null && typeof r.body === "object" && "data" in r.body ? r.body.data : r.body;
  }
}

/** A new user, signed in through the OpenID Connect stand-in. */
export async function newUser(): Promise<User> {
  const u = new User(apiUrl());
  const who = person();
  const res = await u.signIn("google", who);
  if (res.status !== 302 && res.status !== 303 && res.status !== 307) throw new Error(`sign-in answered ${res.status}`);
  const session = await u.call("GET", "/auth/session");
  u.id = session.body.user.id;
  u.email = session.body.user.email;
  return u;
}

/** Runs the admin CLI (scripts/admin.mjs) against a database (the shared one by default). */
export function adminCli(args: string[], url = databaseUrl()): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [join(ROOT, "scripts", "admin.mjs"), ...args], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: "utf8",
    timeout: 15_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Grants the admin role with the admin CLI; the user's next request picks it up. */
export function grantAdmin(u: User): void {
  const run = adminCli(["grant-role", u.email, "admin"]);
  if (run.status !== 0) throw new Error(`admin CLI failed: ${run.stderr}`);
}

export async function sql<T = Record<string, any>>(text: string, params: unknown[] = []): Promise<T[]> {
  return withClient(databaseUrl(), async (c) => (await c.query(text, params)).rows as T[]);
}

export async function setTimezone(u: User, timezone: string | null): Promise<void> {
  await sql(
    `INSERT INTO user_settings (user_id, timezone) VALUES ($1, $2)
     ON CONFLICT (user_id) DO UPDATE SET timezone = EXCLUDED.timezone`,
    [u.id, timezone],
  );
}

/** Completes a new personal quest with these rewards; returns the completion's data. */
export async function completeQuest(u: User, rewards: { xp?: number; coins?: number }): Promise<any> {
  const quest = await u.ok("POST", "/api/quests", {
    title: "Earn",
    category: "test",
    xp_reward: rewards.xp ?? 0,
    coin_reward: rewards.coins ?? 0,
  });
  return u.ok("POST", `/api/quests/${quest.id}/complete`);
}

export async function wallet(u: User): Promise<{ coins: number; lifetime_earned: number; lifetime_spent: number }> {
  return u.ok("GET", "/api/market/wallet");
}

const XP_FOR_LEVEL = (l: number) => Math.floor(100 * l ** 1.5);

/**
 * The ledger invariant: the wallet equals the sum of the user's ledger coins, is never negative,
 * and earned − spent = balance; the level state is exactly what the ledger's XP adds up to.
 */
export async function expectLedgerInvariant(u: User): Promise<{ coins: number; xp: number }> {
  const [l] = await sql<{ coins: string; xp: string; earned: string; spent: string }>(
    `SELECT COALESCE(sum(coins), 0) AS coins, COALESCE(sum(xp), 0) AS xp,
            COALESCE(sum(coins) FILTER (WHERE coins > 0), 0) AS earned, COALESCE(-sum(coins) FILTER (WHERE coins < 0), 0) AS spent
     FROM points_ledger WHERE user_id = $1`,
    [u.id],
  );
  const w = await wallet(u);
  expect(w.coins).toBeGreaterThanOrEqual(0);
  expect(w.coins).toBe(Number(l!.coins));
  expect(w.lifetime_earned).toBe(Number(l!.earned));
  expect(w.lifetime_spent).toBe(Number(l!.spent));
  const summary = await u.ok("GET", "/api/gamification/summary");
  let level = 1;
  let xp = Number(l!.xp);
  while (xp >= XP_FOR_LEVEL(level)) xp -= XP_FOR_LEVEL(level++);
  expect({ level: summary.current_level, xp: summary.total_xp, coins: summary.coins }).toEqual({ level, xp, coins: w.coins });
  return { coins: w.coins, xp: Number(l!.xp) };
}
