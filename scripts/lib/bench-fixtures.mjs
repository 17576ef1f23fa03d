// Benchmark fixtures: signed-in users made directly in the database (with the cookie the API
// would sign), and for the economy scenarios users with a live focus session each (a completion
// can only happen once) or with coins to spend.
import { SignJWT } from "jose";
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";

const FRONTEND = "http://localhost:3000";

/** The session cookie's value the API would sign for session token `sid` with `secret`. */
export function signSessionToken(sid, secret) {
  return new SignJWT({ sid })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("ignition-api")
    .setIssuedAt()
    .setExpirationTime("1d")
    .sign(new TextEncoder().encode(secret));
}

function signCookies(tokens, secret) {
  return Promise.all(tokens.map(async (sid) => `session=${await signSessionToken(sid, secret)}`));
}

/** `count` users with the user role and a live session each; returns their ids and cookies. */
async function makeUsers(client, count, label, secret) {
  const run = randomBytes(4).toString("hex");
  const tokens = Array.from({ length: count }, () => randomBytes(32).toString("base64url"));
  const emails = tokens.map((_, i) => `bench-${label}-${run}-${i}@example.com`);
  const { rows } = await client.query(
    "INSERT INTO users (name, email) SELECT 'Bench', e FROM unnest($1::text[]) e RETURNING id",
    [emails],
  );
  const ids = rows.map((r) => r.id);
  await client.query("INSERT INTO user_roles (user_id, role_id) SELECT u, (SELECT id FROM roles WHERE name = 'user') FROM unnest($1::uuid[]) u", [ids]);
  await client.query(
    `INSERT INTO sessions (user_id, token_hash, expires_at, idle_expires_at)
     SELECT u, h, now() + interval '1 day', now() + interval '1 day' FROM unnest($1::uuid[], $2::bytea[]) AS t(u, h)`,
    [ids, tokens.map((t) => createHash("sha256").update(t).digest())],
  );
  return { ids, cookies: await signCookies(tokens, secret) };
}

/**
 * Runs fn, then refreshes the planner statistics: tens of thousands of rows loaded at once would
 * otherwise be planned as the near-empty tables autovacuum last saw (a running database keeps its
 * statistics current; a benchmark starting seconds after a bulk load would measure bad plans).
 */
async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await fn(client);
    await client.query("ANALYZE");
    return result;
  } finally {
    await client.end();
  }
}

/**
 * ANALYZE, as autovacuum would after a scenario's warm-up: the warm-up writes thousands of rows
 * (ledger, idempotency keys, streaks) into tables that were near-empty when last analysed, and a
 * connection's cached plans for them stay sequential scans until the statistics change. A running
 * database's autovacuum analyses such a table within a minute; a 10-second run would not see it.
 */
export async function refreshStatistics(databaseUrl) {
  await withClient(databaseUrl, async () => {});
}

/** One signed-in user's Cookie header value. */
export async function benchSessionCookie(databaseUrl, secret) {
  return withClient(databaseUrl, async (client) => (await makeUsers(client, 1, "user", secret)).cookies[0]);
}

/**
 * `count` users each with one active 25-minute focus session. The returned request options
 * complete the next unused session on every request, so each one is a real rewarded write.
 */
export async function focusCompleteRequests(databaseUrl, count, secret) {
  const pending = await withClient(databaseUrl, async (client) => {
    const { ids, cookies } = await makeUsers(client, count, "focus", secret);
    // Established users (the common case): yesterday they completed their first focus session,
    // so they have its ledger rows (the session's reward and the first-focus achievement's), the
    // wallet and progress those rows explain, and running streaks. A completion is then the award
    // itself, not also a first-time unlock. The history also matters to the plans: with empty
    // ledger and streak tables at ANALYZE, PostgreSQL would plan sequential scans of them and
    // keep those plans while the run fills the tables, which no running database does.
    await client.query(
      `INSERT INTO points_ledger (user_id, event_type, xp, coins, reason, idempotency_key)
       SELECT u, e.event_type, e.xp, e.coins, e.reason, e.key_prefix || u
       FROM unnest($1::uuid[]) u,
            (VALUES ('focus_complete', 25, 5, 'Completed a focus session', 'bench_focus_'),
                    ('achievement_unlocked', 10, 5, 'Achievement: First Focus', 'achievement_first_focus_')) AS e(event_type, xp, coins, reason, key_prefix)`,
      [ids],
    );
    await client.query("INSERT INTO user_progress (user_id, total_xp) SELECT u, 35 FROM unnest($1::uuid[]) u", [ids]);
    await client.query("INSERT INTO user_wallet (user_id, coins, total_earned) SELECT u, 10, 10 FROM unnest($1::uuid[]) u", [ids]);
    await client.query(
      `INSERT INTO user_streaks (user_id, streak_type, current_streak, longest_streak, last_activity_date)
       SELECT u, t, 1, 1, (now() AT TIME ZONE 'UTC')::date - 1 FROM unnest($1::uuid[]) u, unnest(ARRAY['daily_activity', 'focus']) t`,
      [ids],
    );
    await client.query("INSERT INTO user_achievements (user_id, achievement_key) SELECT u, 'first_focus' FROM unnest($1::uuid[]) u", [ids]);
    const cookieOf = new Map(ids.map((id, i) => [id, cookies[i]]));
    const { rows } = await client.query(
      `INSERT INTO focus_sessions (user_id, duration_seconds, expires_at)
       SELECT u, 1500, now() + interval '25 minutes' FROM unnest($1::uuid[]) u
       RETURNING id, user_id`,
      [ids],
    );
    return rows.map((r) => ({ path: `/api/focus/${r.id}/complete`, cookie: cookieOf.get(r.user_id) }));
  });
  let next = 0;
  return {
    method: "POST",
    requests: [
      {
        setupRequest(req) {
          const p = pending[next++ % pending.length];
          return { ...req, method: "POST", path: p.path, headers: { ...req.headers, cookie: p.cookie, origin: FRONTEND } };
        },
      },
    ],
  };
}

/**
 * `count` users with a billion coins each (granted with the ledger row that explains them), and
 * a 1-coin item with unlimited stock; every request buys it with a fresh Idempotency-Key.
 */
export async function purchaseRequests(databaseUrl, count, secret) {
  const itemKey = `bench-item-${randomBytes(4).toString("hex")}`;
  const cookies = await withClient(databaseUrl, async (client) => {
    const users = await makeUsers(client, count, "buyer", secret);
    await client.query("INSERT INTO user_wallet (user_id, coins, total_earned) SELECT u, 1000000000, 1000000000 FROM unnest($1::uuid[]) u", [users.ids]);
    await client.query(
      `INSERT INTO points_ledger (user_id, event_type, coins, reason, idempotency_key)
       SELECT u, 'bench_grant', 1000000000, 'benchmark coins', 'bench_grant_' || u FROM unnest($1::uuid[]) u`,
      [users.ids],
    );
    await client.query("INSERT INTO market_items (key, name, category, cost_coins) VALUES ($1, 'Bench item', 'bench', 1)", [itemKey]);
    return users.cookies;
  });
  const body = JSON.stringify({ item_key: itemKey });
  const run = randomBytes(4).toString("hex");
  let next = 0;
  return {
    method: "POST",
    requests: [
      {
        setupRequest(req) {
          const n = next++;
          return {
            ...req,
            method: "POST",
            path: "/api/market/purchase",
            body,
            headers: {
              ...req.headers,
              cookie: cookies[n % cookies.length],
              origin: FRONTEND,
              "content-type": "application/json",
              "idempotency-key": `${run}-${n}`,
            },
          };
        },
      },
    ],
  };
}
