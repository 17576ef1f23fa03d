import { z } from "zod";
import { audit } from "../../auth/audit";
import { currentUser, requireUser } from "../../auth/authenticate";
import { configuredProviders, isProviderId, type OAuthProvider } from "../../auth/oauth/provider";
import { enforceRateLimit } from "../../auth/rate-limit";
import { clearSessionCookieHeader } from "../../auth/session-cookie";
import { listLiveSessions, revokeOtherSessions, revokeSession, rotateSession } from "../../auth/sessions";
import type { AuthUser } from "../../auth/user";
import type { AppContext } from "../../context";
import { AppError } from "../../http/errors";
import { idParam } from "../../http/params";
import { json } from "../../http/response";
import { parseBody } from "../../http/validate";
import type { AppRouter } from "../../router";
import { finishSignIn, startSignIn } from "./signin";

const verifyAgeBody = z.object({ is_13_or_older: z.boolean() });
const acceptTosBody = z.object({ accepted: z.boolean(), version: z.string().trim().min(1).max(32).optional() });

function provider(ctx: AppContext, id: string | undefined): OAuthProvider {
  if (!id || !isProviderId(id)) throw new AppError("not_found", `Unknown sign-in provider ${id ?? ""}`.trim());
  const found = configuredProviders(ctx.config).find((p) => p.id === id);
  if (!found) throw new AppError("config_error", `${id === "google" ? "Google" : "Microsoft"} sign-in is not configured`);
  return found;
}

const empty = () => new Response(null, { status: 200 });

function sessionUserBody(user: AuthUser) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    image: user.image,
    role: user.role,
    entitlements: user.entitlements,
    age_verified: user.ageVerified,
    tos_accepted: user.tosAccepted,
  };
}

let warnedNoClientIp = false;

function signinLimit(ctx: AppContext, kind: string) {
  if (ctx.clientIp === null && !warnedNoClientIp && ctx.config.environment !== "development") {
    // Every such caller shares one sign-in bucket: behind a misconfigured proxy, one for everyone.
    warnedNoClientIp = true;
    ctx.log.warn("no client address in the request: sign-in limits are shared by all such callers; check CLIENT_IP_HEADER and CLIENT_IP_PROXY_HOPS", {
      request_id: ctx.requestId,
      header: ctx.config.auth.clientIpHeader,
      hops: ctx.config.auth.clientIpProxyHops,
    });
  }
  return enforceRateLimit(ctx, `${kind}:${ctx.clientIp ?? "unknown"}`, ctx.config.auth.signinRateLimitPerMinute);
}

export function authRoutes(router: AppRouter): void {
  router
    .get("/auth/providers", (_req, ctx) =>
      json(configuredProviders(ctx.config).map((p) => ({ id: p.id, name: p.name, enabled: true }))),
    )
    .get("/auth/signin/:provider", async (req, ctx) => {
      const p = provider(ctx, req.params.provider);
      await signinLimit(ctx, "signin");
      return startSignIn(ctx, p, new URL(req.url).searchParams.get("redirect"));
    })
    .get("/auth/callback/:provider", async (req, ctx) => {
      const p = provider(ctx, req.params.provider);
      await signinLimit(ctx, "callback");
      return finishSignIn(ctx, p, req);
    })
    .get("/auth/session", async (req, ctx) => {
      const user = await currentUser(ctx, req);
      return json({ user: user ? sessionUserBody(user) : null });
    })
    .post("/auth/signout", async (req, ctx) => {
      const user = await currentUser(ctx, req);
      if (user?.sessionId) {
        const sessionId = user.sessionId;
        await ctx.db().transaction(async (tx) => {
          await revokeSession(tx, user.id, sessionId, "signout");
          await audit(tx, ctx, "logout", { userId: user.id, sessionId, resourceType: "session", resourceId: sessionId });
        });
      }
      ctx.cookies.push(clearSessionCookieHeader(ctx.config));
      return empty();
    })
    .post("/auth/verify-age", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const body = await parseBody(req, ctx, verifyAgeBody);
      if (!body.is_13_or_older) throw new AppError("forbidden", "You must be 13 or older to use Ignition");
      const cookie = await ctx.db().transaction(async (tx) => {
        await tx.query("UPDATE users SET age_verified = true WHERE id = $1", [user.id]);
        return rotateSession(tx, ctx, user, "age_verification");
      });
      if (cookie) ctx.cookies.push(cookie);
      return empty();
    })
    .post("/auth/accept-tos", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const body = await parseBody(req, ctx, acceptTosBody);
      if (!body.accepted) throw new AppError("bad_request", "TOS must be accepted");
      const cookie = await ctx.db().transaction(async (tx) => {
        await tx.query("UPDATE users SET tos_accepted = true, tos_accepted_at = now(), tos_version = $2 WHERE id = $1", [user.id, body.version ?? "1.0"]);
        return rotateSession(tx, ctx, user, "tos_acceptance");
      });
      if (cookie) ctx.cookies.push(cookie);
      return empty();
    })
    .get("/auth/sessions", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const sessions = await listLiveSessions(ctx.db(), user.id);
      return json({ sessions: sessions.map((s) => ({ ...s, current: s.id === user.sessionId })) });
    })
    .delete("/auth/sessions/:id", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      // Lower case, as stored: the current-session check below compares exactly.
      const id = idParam(req.params.id, "Session not found");
      const ended = await ctx.db().transaction(async (tx) => {
        const ok = await revokeSession(tx, user.id, id, "revoked_by_user");
        if (ok) await audit(tx, ctx, "session_revoked", { userId: user.id, sessionId: user.sessionId, resourceType: "session", resourceId: id });
        return ok;
      });
      if (!ended) throw new AppError("not_found", "Session not found");
      if (id === user.sessionId) ctx.cookies.push(clearSessionCookieHeader(ctx.config));
      return json({ success: true });
    })
    .post("/auth/signout-others", async (req, ctx) => {
      const user = await requireUser(ctx, req);
      const count = await ctx.db().transaction(async (tx) => {
        const n = await revokeOtherSessions(tx, user.id, user.sessionId, "signout_others");
        if (n > 0) await audit(tx, ctx, "session_revoked", { userId: user.id, sessionId: user.sessionId, resourceType: "session", details: { others: n } });
        return n;
      });
      return json({ revoked: count });
    });
}
