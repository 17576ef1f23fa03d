import { audit } from "../../auth/audit";
import { resolveAccount } from "../../auth/oauth/accounts";
import { beginFlow, consumeFlow, safeRedirectPath } from "../../auth/oauth/flow-state";
import type { OAuthProvider } from "../../auth/oauth/provider";
import { exchangeCode, providerConfig, TokenError, verifyIdToken } from "../../auth/oauth/token";
import { readSessionToken } from "../../auth/session-cookie";
import { createSession, revokeSessionByToken } from "../../auth/sessions";
import type { AppContext } from "../../context";
import { sqlState } from "../../db/errors";
import { AppError } from "../../http/errors";

export function callbackUrl(ctx: AppContext, provider: OAuthProvider): string {
  return `${ctx.config.publicUrl}/auth/callback/${provider.id}`;
}

function redirect(location: string, status = 302): Response {
  return new Response(null, { status, headers: { Location: location } });
}

/** Back to the frontend's sign-in page with a short error code it can show. */
function toFrontendError(ctx: AppContext, code: string): Response {
  return redirect(`${ctx.config.frontendUrl}/login?error=${encodeURIComponent(code)}`);
}

/** GET /auth/signin/{provider}: store the flow, send the browser to the provider (PKCE S256). */
export async function startSignIn(ctx: AppContext, provider: OAuthProvider, redirectParam: string | null): Promise<Response> {
  let authorize: string;
  try {
    authorize = (await providerConfig(provider)).authorization_endpoint;
  } catch (err) {
    ctx.log.warn("provider discovery failed", { request_id: ctx.requestId, provider: provider.id, error: String(err) });
    return toFrontendError(ctx, "provider_unavailable");
  }
  const flow = await beginFlow(ctx.db(), ctx, provider.id, safeRedirectPath(redirectParam));
  const url = new URL(authorize);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: provider.clientId,
    redirect_uri: callbackUrl(ctx, provider),
    scope: provider.scope,
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: flow.codeChallenge,
    code_challenge_method: "S256",
  }).toString();
  return redirect(url.toString(), 307);
}

async function failed(ctx: AppContext, provider: OAuthProvider, reason: string, code: string): Promise<Response> {
  await audit(ctx.db(), ctx, "login_failed", { resourceType: "session", details: { provider: provider.id, reason } });
  return toFrontendError(ctx, code);
}

/** GET /auth/callback/{provider}: finish the flow, sign the user in, back to the frontend. */
export async function finishSignIn(ctx: AppContext, provider: OAuthProvider, request: Request): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const providerError = params.get("error");
  if (providerError !== null) {
    const reason = /^[a-z_]{1,64}$/.test(providerError) ? providerError : "provider_error";
    return failed(ctx, provider, `provider_error:${reason}`, reason === "access_denied" ? "access_denied" : "provider_error");
  }
  const code = params.get("code");
  const state = params.get("state");
  if (!code || !state || code.length > 4096 || state.length > 512) {
    throw new AppError("bad_request", "The callback needs code and state parameters");
  }
  const flow = await consumeFlow(ctx.db(), ctx, request, provider.id, state);
  if (typeof flow === "string") return failed(ctx, provider, flow, "invalid_state");

  let claims;
  try {
    const idToken = await exchangeCode(provider, code, flow.codeVerifier, callbackUrl(ctx, provider));
    claims = await verifyIdToken(provider, idToken, flow.nonce);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    ctx.log.warn("sign-in failed", { request_id: ctx.requestId, provider: provider.id, reason: err.reason, error: err.message });
    return failed(ctx, provider, `${err.reason}: ${err.message}`.slice(0, 300), err.reason);
  }

  const who = provider.identity(claims);
  const previousToken = await readSessionToken(ctx.config, request);
  let cookie: string | null = null;
  const signIn = () => ctx.db().transaction(async (tx) => {
    const result = await resolveAccount(tx, ctx, provider, who);
    if ("refused" in result) return result;
    // A session this browser already had ends: one sign-in, one live session id.
    if (previousToken !== null) await revokeSessionByToken(tx, previousToken, "replaced_by_signin");
    const session = await createSession(tx, ctx, result.userId);
    cookie = session.cookie;
    await audit(tx, ctx, "login", {
      userId: result.userId,
      sessionId: session.id,
      resourceType: "session",
      resourceId: session.id,
      // Spec §2.2.1: a new user's login says new_user; any other (the account existed or was just
      // linked by email) says account_linked — not new_user, which the old code wrongly wrote.
      details: result.created ? { provider: provider.id, new_user: true } : { provider: provider.id, account_linked: true },
    });
    return result;
  });
  let outcome;
  try {
    outcome = await signIn();
  } catch (err) {
    // A concurrent first sign-in of the same identity (a double click) created the user or the
    // account first: run again, and this time find it.
    if (sqlState(err) !== "23505") throw err;
    cookie = null;
    outcome = await signIn();
  }
  if ("refused" in outcome) return failed(ctx, provider, outcome.refused, "account_conflict");
  if (cookie) ctx.cookies.push(cookie);
  // Housekeeping rides on sign-ins: drop sessions long expired or revoked (a few % of sign-ins).
  if (Math.random() < 0.05) await ctx.db().query("SELECT cleanup_expired_sessions()");
  return redirect(`${ctx.config.frontendUrl}${flow.redirectPath}`);
}
