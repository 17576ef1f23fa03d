import type { AppContext } from "../context";
import { AppError } from "../http/errors";
import { audit } from "./audit";
import { countHitSql, WINDOW_SECONDS, type Hit } from "./rate-limit";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Whether the method changes state (the ones the CSRF check and the per-user rate limit cover). */
export const changesState = (method: string): boolean => STATE_CHANGING.has(method);

function originOf(value: string): string | null {
  try {
    return new URL(value).origin;
  } catch {
    return null;
  }
}

/** Whether a state-changing request passes the CSRF rule of enforceCsrf. */
export function passesCsrf(ctx: AppContext, request: Request): boolean {
  const origin = request.headers.get("Origin");
  const referer = request.headers.get("Referer");
  const claimed = origin !== null ? origin : referer !== null ? originOf(referer) : null;
  const fetchSite = request.headers.get("Sec-Fetch-Site");
  return claimed !== null && ctx.config.corsAllowedOrigins.includes(claimed) && fetchSite !== "cross-site";
}

/**
 * State-changing requests must come from one of our own frontends: the Origin (or, when a browser
 * omits it, the Referer's origin) must equal an entry of CORS_ALLOWED_ORIGINS exactly — no prefix
 * matching — and Sec-Fetch-Site, when sent, must not be cross-site. Otherwise 403 csrf_violation.
 */
export async function enforceCsrf(ctx: AppContext, request: Request): Promise<void> {
  if (passesCsrf(ctx, request)) return;
  const origin = request.headers.get("Origin");
  const referer = request.headers.get("Referer");
  const fetchSite = request.headers.get("Sec-Fetch-Site");
  try {
    // Audited once per client address and minute, so a flood of forged requests is not a flood of
    // audit rows (the same policy as rate_limited).
    const db = ctx.db();
    const [hit] = await db.query<Hit>(countHitSql("$1", "$2"), [`csrf:${ctx.clientIp ?? "unknown"}`, WINDOW_SECONDS]);
    if (hit?.count === 1) {
      await audit(db, ctx, "csrf_violation", {
        details: { method: request.method, path: new URL(request.url).pathname, origin, referer_origin: referer ? originOf(referer) : null, sec_fetch_site: fetchSite },
      });
    }
  } catch (err) {
    ctx.log.warn("could not audit a CSRF violation", { request_id: ctx.requestId, error: String(err) });
  }
  throw new AppError("csrf_violation", "CSRF validation failed");
}
