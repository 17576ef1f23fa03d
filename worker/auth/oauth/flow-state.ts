import { base64url } from "jose";
import type { AppContext } from "../../context";
import type { Sql } from "../../db/sql";
import { clearCookie, readCookie, setCookie } from "../cookies";
import { equalBytes, pkceChallenge, randomToken, sha256 } from "../tokens";
import type { ProviderId } from "./provider";

export const STATE_TTL_SECONDS = 600;
const CALLBACK_PATH = "/auth/callback";
/**
 * One binding cookie per flow, named after its state, so a second sign-in started in the same
 * browser (another tab, a retry) does not overwrite the first one's and make it fail.
 */
const bindingCookie = (stateHash: Uint8Array) => `oauth_flow_${base64url.encode(stateHash).slice(0, 12)}`;

export interface PendingFlow {
  state: string;
  nonce: string;
  codeChallenge: string;
}

/**
 * Stores a new sign-in flow: state and nonce (single use, 10 minutes), the PKCE verifier, the
 * post-login path, and a hash of a random value also set as an HttpOnly cookie, which binds the
 * flow to this browser. Kept in PostgreSQL so any process, before or after a restart, can finish it.
 */
export async function beginFlow(sql: Sql, ctx: AppContext, provider: ProviderId, redirectPath: string): Promise<PendingFlow> {
  const state = randomToken(32);
  const nonce = randomToken(32);
  const verifier = randomToken(32);
  const binding = randomToken(32);
  const stateHash = await sha256(state);
  await sql.query(
    `INSERT INTO oauth_states (state_hash, provider, nonce, code_verifier, redirect_path, browser_binding, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [stateHash, provider, nonce, verifier, redirectPath, await sha256(binding), STATE_TTL_SECONDS],
  );
  ctx.cookies.push(setCookie(ctx.config, bindingCookie(stateHash), binding, STATE_TTL_SECONDS, CALLBACK_PATH));
  return { state, nonce, codeChallenge: await pkceChallenge(verifier) };
}

export interface ConsumedFlow {
  nonce: string;
  codeVerifier: string;
  redirectPath: string;
}

export type FlowFailure = "invalid_state" | "expired_state" | "wrong_provider" | "wrong_browser";

/**
 * Takes the flow for `state` out of the store (so it can never be used twice) and checks that it
 * is unexpired, for this provider, and started in this browser.
 */
export async function consumeFlow(
  sql: Sql,
  ctx: AppContext,
  request: Request,
  provider: ProviderId,
  state: string,
): Promise<ConsumedFlow | FlowFailure> {
  const stateHash = await sha256(state);
  const cookie = bindingCookie(stateHash);
  ctx.cookies.push(clearCookie(ctx.config, cookie, CALLBACK_PATH));
  const rows = await sql.query<{ provider: string; nonce: string; code_verifier: string; redirect_path: string; browser_binding: Uint8Array; expired: boolean }>(
    `DELETE FROM oauth_states WHERE state_hash = $1
     RETURNING provider, nonce, code_verifier, redirect_path, browser_binding, expires_at <= now() AS expired`,
    [stateHash],
  );
  if (Math.random() < 0.05) await sql.query("DELETE FROM oauth_states WHERE expires_at <= now()");
  const row = rows[0];
  if (!row) return "invalid_state";
  if (row.expired) return "expired_state";
  if (row.provider !== provider) return "wrong_provider";
  const binding = readCookie(request, cookie);
  if (binding === null || !equalBytes(new Uint8Array(row.browser_binding), await sha256(binding))) return "wrong_browser";
  return { nonce: row.nonce, codeVerifier: row.code_verifier, redirectPath: row.redirect_path };
}

/**
 * Only a same-site relative path may follow sign-in: one leading slash, no scheme, no `//` or
 * backslash (which browsers treat as another host), no control characters. Anything else → /today.
 */
export function safeRedirectPath(value: string | null): string {
  const fallback = "/today";
  if (value === null || value === "") return fallback;
  if (value.length > 512 || !value.startsWith("/") || value.startsWith("//") || /[\\\u0000-\u001f\u007f]/.test(value)) return fallback;
  try {
    const resolved = new URL(value, "https://frontend.invalid");
    if (resolved.origin !== "https://frontend.invalid") return fallback;
    // Dot segments can normalise into `//host` ("/a/../..//evil"): check what is returned too.
    const path = resolved.pathname + resolved.search + resolved.hash;
    return path.startsWith("//") ? fallback : path;
  } catch {
    return fallback;
  }
}
