import type { AppContext } from "../context";
import { utc } from "../db/json";
import type { Sql } from "../db/sql";
import { audit } from "./audit";
import { API_KEY_PREFIX, countHitSql, WINDOW_SECONDS, type Hit } from "./rate-limit";
import { sessionCookieHeader } from "./session-cookie";
import { randomToken, sha256 } from "./tokens";
import type { AuthUser } from "./user";

/** Last-seen (and the idle deadline) is written at most this often, not on every request. */
const TOUCH_INTERVAL_MS = 5 * 60 * 1000;

interface SessionRow {
  session_id: string;
  user_id: string;
  /** RFC 3339 text (the row arrives as JSON). */
  expires_at: string;
  last_seen_at: string;
  needs_rotation: boolean;
  email: string;
  name: string;
  image: string | null;
  role: AuthUser["role"];
  age_verified: boolean;
  tos_accepted: boolean;
  entitlements: string[];
}

/**
 * The user's role from unexpired grants (admin > moderator > user), so an expired grant stops
 * counting at once; users.role is only the legacy copy the admin CLI keeps.
 */
export const ROLE_OF_USER = `COALESCE((
  SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
  WHERE ur.user_id = u.id AND (ur.expires_at IS NULL OR ur.expires_at > now()) AND r.name IN ('admin', 'moderator')
  ORDER BY CASE r.name WHEN 'admin' THEN 0 ELSE 1 END LIMIT 1), 'user')`;

/** Entitlements of a user from unexpired role grants (§2.5). */
export const ENTITLEMENTS_OF_USER = `COALESCE((
  SELECT array_agg(DISTINCT e.name ORDER BY e.name)
  FROM user_roles ur
  JOIN role_entitlements re ON re.role_id = ur.role_id
  JOIN entitlements e ON e.id = re.entitlement_id
  WHERE ur.user_id = u.id AND (ur.expires_at IS NULL OR ur.expires_at > now())
), '{}')`;

export function toAuthUser(row: SessionRow, devBypass = false): AuthUser {
  return {
    id: row.user_id,
    email: row.email,
    name: row.name,
    image: row.image,
    role: row.role,
    entitlements: row.entitlements,
    ageVerified: row.age_verified,
    tosAccepted: row.tos_accepted,
    sessionId: devBypass ? null : row.session_id,
    sessionExpiresAt: devBypass ? null : new Date(row.expires_at),
    devBypass,
  };
}

const LIVE_SESSION = `SELECT json_build_object(
       'session_id', s.id, 'user_id', s.user_id, 'expires_at', s.expires_at, 'last_seen_at', s.last_seen_at,
       'needs_rotation', s.needs_rotation, 'email', u.email, 'name', u.name, 'image', u.image, 'role', ${ROLE_OF_USER},
       'age_verified', u.age_verified, 'tos_accepted', u.tos_accepted,
       'entitlements', ${ENTITLEMENTS_OF_USER}) AS s, s.user_id
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND s.idle_expires_at > now()`;

// The same lookup that also counts the request against the user's API rate limit (key api:{id}).
const LIVE_SESSION_COUNTED = `WITH live AS (${LIVE_SESSION}),
  hit AS (${countHitSql(`'${API_KEY_PREFIX}' || live.user_id`, "$2::int", "FROM live")})
  SELECT live.s, (SELECT json_build_object('count', count, 'retry_after', retry_after) FROM hit) AS hit FROM live`;

/**
 * One indexed read: the live session with its user and entitlements, or nothing. It comes back as
 * one JSON column because the driver's per-column parsing (timestamps, arrays) costs workerd more
 * CPU than a single JSON.parse — this query runs on every authenticated request. With
 * `countApiHit`, the same statement counts the request against the user's API rate limit (a
 * state change), saving the round trip a separate count would cost.
 */
export async function findLiveSession(sql: Sql, token: string, countApiHit = false): Promise<{ row: SessionRow; hit: Hit | null } | null> {
  const hash = await sha256(token);
  const rows = await sql.query<{ s: SessionRow; hit?: Hit | null }>(
    countApiHit ? LIVE_SESSION_COUNTED : LIVE_SESSION,
    countApiHit ? [hash, WINDOW_SECONDS] : [hash],
  );
  const found = rows[0];
  return found ? { row: found.s, hit: found.hit ?? null } : null;
}

/** Keeps last_seen and the idle deadline fresh, at most once per TOUCH_INTERVAL per session. */
export async function touchIfStale(sql: Sql, ctx: AppContext, row: SessionRow): Promise<void> {
  if (Date.now() - new Date(row.last_seen_at).getTime() < TOUCH_INTERVAL_MS) return;
  await sql.query(
    `WITH s AS (
       UPDATE sessions SET last_seen_at = now(),
         idle_expires_at = LEAST(expires_at, now() + make_interval(secs => $2)),
         ip_address = COALESCE($3::inet, ip_address)
       WHERE id = $1 RETURNING user_id)
     UPDATE users SET last_activity_at = now() WHERE id IN (SELECT user_id FROM s)`,
    [row.session_id, ctx.config.auth.sessionIdleSeconds, ctx.clientIp],
  );
}

export interface NewSession {
  id: string;
  expiresAt: Date;
  /** The Set-Cookie header for it: queue it (ctx.cookies) only once the transaction committed. */
  cookie: string;
}

/**
 * Creates a session (256-bit random id, stored only as its SHA-256) and signs its cookie.
 * `expiresAt` carries an existing absolute deadline over a rotation.
 */
export async function createSession(
  sql: Sql,
  ctx: AppContext,
  userId: string,
  opts: { rotatedFrom?: string; expiresAt?: Date } = {},
): Promise<NewSession> {
  const token = randomToken(32);
  const { sessionTtlSeconds, sessionIdleSeconds } = ctx.config.auth;
  const rows = await sql.query<{ id: string; expires_at: Date }>(
    `INSERT INTO sessions (user_id, token_hash, expires_at, idle_expires_at, user_agent, ip_address, rotated_from)
     VALUES ($1, $2, COALESCE($3, now() + make_interval(secs => $4)),
             LEAST(COALESCE($3, now() + make_interval(secs => $4)), now() + make_interval(secs => $5)),
             $6, $7::inet, $8)
     RETURNING id, expires_at`,
    [userId, await sha256(token), opts.expiresAt ?? null, sessionTtlSeconds, sessionIdleSeconds, ctx.userAgent, ctx.clientIp, opts.rotatedFrom ?? null],
  );
  const { id, expires_at } = rows[0]!;
  const expiresAt = new Date(expires_at);
  return { id, expiresAt, cookie: await sessionCookieHeader(ctx.config, token, expiresAt) };
}

/** Ends a session server-side. Returns whether a live session of that user was ended. */
export async function revokeSession(sql: Sql, userId: string, sessionId: string, reason: string): Promise<boolean> {
  const rows = await sql.query(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $3
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id`,
    [sessionId, userId, reason],
  );
  return rows.length > 0;
}

/** Ends the session a (validly signed) cookie names, whoever it belongs to. */
export async function revokeSessionByToken(sql: Sql, token: string, reason: string): Promise<void> {
  await sql.query(
    "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
    [await sha256(token), reason],
  );
}

/** Ends every live session of a user except `keep`; returns how many ended. */
export async function revokeOtherSessions(sql: Sql, userId: string, keep: string | null, reason: string): Promise<number> {
  const rows = await sql.query(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $3
     WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2) AND expires_at > now()
     RETURNING id`,
    [userId, keep, reason],
  );
  return rows.length;
}

/**
 * A new session id for the same sign-in (privilege change): the old session ends, the new one
 * keeps its absolute deadline, and the rotation is audited. Returns the new cookie (null for the
 * development bypass), to queue once the transaction has committed.
 */
export async function rotateSession(sql: Sql, ctx: AppContext, user: AuthUser, reason: string): Promise<string | null> {
  if (user.devBypass || user.sessionId === null) return null;
  // Claim the old session first. Of parallel requests that all found it due for rotation, one
  // rotates and the others carry on without a new cookie; and a session ended meanwhile (signed
  // out) is not reborn as a new one.
  if (!(await revokeSession(sql, user.id, user.sessionId, "rotated"))) return null;
  const next = await createSession(sql, ctx, user.id, { rotatedFrom: user.sessionId, expiresAt: user.sessionExpiresAt ?? undefined });
  await audit(sql, ctx, "session_rotated", {
    userId: user.id,
    sessionId: next.id,
    resourceType: "session",
    resourceId: next.id,
    details: { reason, previous_session: user.sessionId },
  });
  user.sessionId = next.id;
  return next.cookie;
}

export interface SessionSummary {
  id: string;
  /** RFC 3339 UTC (§2.10). */
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  user_agent: string | null;
  ip_address: string | null;
}

/** The user's live sessions, newest first (one JSON column per row: cheaper for the driver). */
export async function listLiveSessions(sql: Sql, userId: string): Promise<SessionSummary[]> {
  const rows = await sql.query<{ s: SessionSummary }>(
    `SELECT json_build_object('id', id, 'created_at', ${utc("created_at")}, 'last_seen_at', ${utc("last_seen_at")},
       'expires_at', ${utc("expires_at")}, 'user_agent', user_agent, 'ip_address', host(ip_address)) AS s
     FROM sessions
     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND idle_expires_at > now()
     ORDER BY created_at DESC LIMIT 100`,
    [userId],
  );
  return rows.map((r) => r.s);
}
