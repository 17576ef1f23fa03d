import type { AppContext, Services } from "./context";
import { isPreflight, preflight, applyCors } from "./http/cors";
import { dropUnreadBody } from "./http/body";
import { AppError } from "./http/errors";
import { errorResponse, json } from "./http/response";
import { requestIdFor } from "./http/request-id";
import { applySecurityHeaders } from "./http/security-headers";
import { sqlState } from "./db/errors";
import { describeError } from "./observability/logger";
import { createRouteTable, type AppRouter, type RouteTable } from "./router";
import { countedApiHit, currentUser, requireAdmin, requireUser } from "./auth/authenticate";
import { clientIp, userAgent } from "./auth/client";
import { changesState, enforceCsrf } from "./auth/csrf";
import { apiKey, enforceRateLimit, exemptFromApiLimit, judgeHit } from "./auth/rate-limit";
import { authRoutes } from "./modules/auth/routes";
import { blobRoutes } from "./modules/blobs/routes";
import { focusRoutes } from "./modules/focus/routes";
import { gamificationRoutes } from "./modules/gamification/routes";
import { goalRoutes } from "./modules/goals/routes";
import { habitRoutes } from "./modules/habits/routes";
import { healthRoutes } from "./modules/health/routes";
import { marketRoutes } from "./modules/market/routes";
import { questRoutes } from "./modules/quests/routes";

/** Paths that must answer even when configuration is invalid, so operators can see why. */
const ALWAYS_ON = /^\/(health(\/.*)?|metrics)?$/;
/** Everything under these needs a signed-in user (§2.2.5); /admin also the admin gate (§2.5). */
const PROTECTED = /^\/(api|reference|frames|blobs|admin)(\/|$)/;
const ADMIN = /^\/admin(\/|$)/;

/**
 * Protected prefixes answer 401/403 before anything else, unknown paths included. /admin checks,
 * in the spec's order (§1.3), the session, then the Origin of a state change, then the role.
 */
async function gate(request: Request, ctx: AppContext, pathname: string): Promise<void> {
  if (ADMIN.test(pathname)) {
    await requireUser(ctx, request);
    if (changesState(request.method)) await enforceCsrf(ctx, request);
    await requireAdmin(ctx, request);
  } else if (PROTECTED.test(pathname)) await requireUser(ctx, request);
}

/** For a request a handler will take: CSRF on state changes, then the per-user rate limit. */
async function guardStateChange(request: Request, ctx: AppContext): Promise<void> {
  if (!changesState(request.method)) return;
  await enforceCsrf(ctx, request);
  const user = await currentUser(ctx, request);
  if (!user || exemptFromApiLimit(new URL(request.url).pathname)) return;
  const key = apiKey(user.id);
  const limit = ctx.config.auth.apiRateLimitPerMinute;
  const hit = countedApiHit(ctx);
  if (hit) await judgeHit(ctx, key, limit, user.id, hit);
  else await enforceRateLimit(ctx, key, limit, user.id);
}

function toAppError(err: unknown, ctx: AppContext): AppError {
  if (err instanceof AppError) {
    const cause = (err as { cause?: unknown }).cause;
    // A 503, or a 409 that PostgreSQL's deadlock or serialization check caused: the client may
    // retry, but operators should see them (frequent deadlocks mean two code paths lock in
    // different orders).
    if (err.status >= 500 || sqlState(cause) !== null) {
      ctx.log.warn("request failed", { request_id: ctx.requestId, code: err.code, ...describeError(cause ?? err) });
    }
    return err;
  }
  // Last line of defence: a value PostgreSQL refused (data exception, constraint) came from the
  // request, so it is the client's 4xx, not our 500. Modules should catch these first; log it.
  const state = sqlState(err);
  if (state !== null && /^(22|23)/.test(state)) {
    ctx.log.warn("database refused a value", { request_id: ctx.requestId, sqlstate: state, ...describeError(err) });
    return state === "23505"
      ? new AppError("conflict", "That already exists")
      : new AppError("validation_error", "A value in the request cannot be stored");
  }
  ctx.log.error("unhandled error", { request_id: ctx.requestId, ...describeError(err) });
  return new AppError("internal_error", "Internal server error");
}

async function route(table: RouteTable, request: Request, ctx: AppContext): Promise<Response> {
  const url = new URL(request.url);
  if (isPreflight(request)) return preflight(request, ctx.config.corsAllowedOrigins);
  if (ctx.problems.length > 0 && !ALWAYS_ON.test(url.pathname)) {
    throw new AppError("config_error", "The service is misconfigured; see /health/ready");
  }
  await gate(request, ctx, url.pathname);
  const head = request.method === "HEAD";
  // The CSRF check and rate limit run as the matched route's first step (see createHandler):
  // a request no handler takes gets 404/405 without them, since nothing would change.
  const response = await table.dispatch(head ? new Request(request, { method: "GET" }) : request, ctx);
  if (response !== undefined) {
    if (!head) return response;
    // The GET handler's body is dropped: cancel it, so a stream from elsewhere (a blob from the
    // store) stops now instead of downloading on until the request's context ends.
    await response.body?.cancel().catch(() => undefined);
    return new Response(null, response);
  }
  const allowed = table.allowedMethods(url.pathname);
  if (allowed.length === 0) throw new AppError("not_found", `No route for ${request.method} ${url.pathname}`);
  if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: { Allow: allowed.join(", ") } });
  throw new AppError("method_not_allowed", `Method ${request.method} is not allowed on ${url.pathname}`, undefined, {
    Allow: allowed.join(", "),
  });
}

export type RequestHandler = (request: Request, services: Services) => Promise<Response>;

/** Builds the request pipeline around the routes that `register` mounts. */
export function createHandler(register: (router: AppRouter) => void): RequestHandler {
  const table = createRouteTable(register, (request, ctx) => guardStateChange(request, ctx));
  return (request, services) => run(table, request, services);
}

/** The modules under /api that this build serves, as GET /api lists them (spec §2.12). */
const API_MODULES = ["focus", "quests", "habits", "goals", "market", "gamification", "blobs"];

/** The whole API as a function of (request, services); each host only decides how services are made. */
export const handle = createHandler((router) => {
  healthRoutes(router);
  router.get("/api", (_req, ctx) => json({ version: ctx.version, modules: API_MODULES }));
  authRoutes(router);
  gamificationRoutes(router);
  focusRoutes(router);
  questRoutes(router);
  habitRoutes(router);
  goalRoutes(router);
  marketRoutes(router);
  blobRoutes(router);
});

/** A body nobody read (an answer given before reading it: 401, 403, 429, 404...) is dropped up to this, for at most this long. */
const UNREAD_BODY_DRAIN_BYTES = 1024 * 1024;
const UNREAD_BODY_DRAIN_MS = 1000;

async function run(table: RouteTable, request: Request, services: Services): Promise<Response> {
  const started = Date.now();
  const ctx: AppContext = {
    ...services,
    requestId: requestIdFor(request),
    clientIp: clientIp(request, services.config.auth.clientIpHeader, services.config.auth.clientIpProxyHops),
    userAgent: userAgent(request),
    user: null,
    cookies: [],
  };
  let response: Response;
  try {
    response = await route(table, request, ctx);
  } catch (err) {
    response = errorResponse(toAppError(err, ctx), ctx.requestId);
  }
  await dropUnreadBody(request, UNREAD_BODY_DRAIN_BYTES, UNREAD_BODY_DRAIN_MS);
  // Responses from fetch() or the router may have immutable headers: copy before decorating.
  response = new Response(response.body, response);
  const h = response.headers;
  h.set("X-Request-Id", ctx.requestId);
  for (const cookie of ctx.cookies) h.append("Set-Cookie", cookie);
  if (ctx.cookies.length > 0) h.set("Cache-Control", "no-store");
  applySecurityHeaders(h, { https: ctx.config.publicUrl.startsWith("https:") });
  applyCors(request, h, ctx.config.corsAllowedOrigins);

  // The route that took the request; for one answered before routing (the auth gate) or routed as
  // a copy (HEAD runs the GET route), the route that would have.
  const matched = (request as { route?: string }).route ?? table.patternOf(request.method, new URL(request.url).pathname);
  const routePattern = matched === null ? "unmatched" : matched || "/";
  const duration = Date.now() - started;
  ctx.metrics.observeRequest(routePattern, request.method, response.status, duration);
  ctx.log.info("request", {
    request_id: ctx.requestId,
    method: request.method,
    route: routePattern,
    status: response.status,
    duration_ms: duration,
    user_id: ctx.user?.id ?? null,
  });
  return response;
}
