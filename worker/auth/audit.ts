import type { AppContext } from "../context";
import type { Sql } from "../db/sql";

/** The closed audit vocabulary; the database CHECK allows exactly these. */
export type AuditEvent =
  | "login"
  | "login_failed"
  | "logout"
  | "session_rotated"
  | "session_revoked"
  | "account_linked"
  | "user_created"
  | "role_granted"
  | "role_revoked"
  | "csrf_violation"
  | "rate_limited"
  | "purchase"
  | "user_deleted"
  | "admin_action";

const ACTION: Record<AuditEvent, string> = {
  login: "create",
  login_failed: "deny",
  logout: "delete",
  session_rotated: "update",
  session_revoked: "delete",
  account_linked: "create",
  user_created: "create",
  role_granted: "create",
  role_revoked: "delete",
  csrf_violation: "deny",
  rate_limited: "deny",
  purchase: "create",
  user_deleted: "delete",
  admin_action: "update",
};

export interface AuditEntry {
  userId?: string | null;
  sessionId?: string | null;
  resourceType?: string;
  resourceId?: string | null;
  status?: "success" | "failure" | "denied";
  details?: Record<string, unknown>;
  action?: string;
}

/** Writes one audit row with the caller's ip, user agent and request id, on the given executor,
 * so that it commits or rolls back with the change it records. */
export async function audit(sql: Sql, ctx: AppContext, event: AuditEvent, entry: AuditEntry = {}): Promise<void> {
  await sql.query(
    `INSERT INTO audit_log (user_id, session_id, event_type, resource_type, resource_id, action, status, details, ip_address, user_agent, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::inet, $10, $11)`,
    [
      entry.userId ?? null,
      entry.sessionId ?? null,
      event,
      entry.resourceType ?? null,
      entry.resourceId ?? null,
      entry.action ?? ACTION[event],
      entry.status ?? (ACTION[event] === "deny" ? "denied" : "success"),
      entry.details ? JSON.stringify(entry.details) : null,
      ctx.clientIp,
      ctx.userAgent,
      ctx.requestId,
    ],
  );
}
