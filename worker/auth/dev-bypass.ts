import type { AppContext } from "../context";
import type { Sql } from "../db/sql";
import { AppError } from "../http/errors";
import { audit } from "./audit";
import { ENTITLEMENTS_OF_USER, ROLE_OF_USER, toAuthUser } from "./sessions";
import type { AuthUser } from "./user";

export const DEV_USER_EMAIL = "dev@localhost";
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The development bypass applies only when AUTH_DEV_BYPASS=true, SERVER_ENVIRONMENT=development
 * (config refuses the flag anywhere else) and the request's host is exactly a loopback name, any
 * port. With the flag on, a request for any other host is refused outright.
 */
export function devBypassApplies(ctx: AppContext, request: Request): boolean {
  if (!ctx.config.devBypass || ctx.config.environment !== "development") return false;
  const host = new URL(request.url).hostname;
  if (!LOCAL_HOSTS.has(host)) {
    throw new AppError("forbidden", "The development auth bypass only serves localhost");
  }
  return true;
}

/** The development user is a real row (created on first use, with the admin role), so writes work. */
function loadDevUser(sql: Sql): Promise<Array<Parameters<typeof toAuthUser>[0]>> {
  return sql.query(
    `SELECT NULL AS session_id, u.id AS user_id, NULL AS expires_at, now() AS last_seen_at, false AS needs_rotation,
            u.email, u.name, u.image, ${ROLE_OF_USER} AS role, u.age_verified, u.tos_accepted, ${ENTITLEMENTS_OF_USER} AS entitlements
     FROM users u WHERE lower(u.email) = $1`,
    [DEV_USER_EMAIL],
  );
}

export async function devUser(ctx: AppContext): Promise<AuthUser> {
  // One read per request once the row exists; the first request creates it (and its roles).
  const existing = await loadDevUser(ctx.db());
  if (existing[0]) return toAuthUser(existing[0], true);
  return ctx.db().transaction(async (tx) => {
    const created = await tx.query<{ id: string; fresh: boolean }>(
      `INSERT INTO users (name, email, email_verified, role, age_verified, tos_accepted)
       VALUES ('Local Dev User', $1, now(), 'admin', true, true)
       ON CONFLICT (lower(email)) DO UPDATE SET name = users.name RETURNING id, (xmax = 0) AS fresh`,
      [DEV_USER_EMAIL],
    );
    const { id, fresh } = created[0]!;
    await tx.query(
      `INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE name IN ('user', 'admin')
       ON CONFLICT DO NOTHING`,
      [id],
    );
    if (fresh) await audit(tx, ctx, "user_created", { userId: id, resourceType: "user", resourceId: id, details: { dev_bypass: true } });
    return toAuthUser((await loadDevUser(tx))[0]!, true);
  });
}
