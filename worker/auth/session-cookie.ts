import { SignJWT, jwtVerify } from "jose";
import type { Config } from "../config";
import { clearCookie, readCookie, setCookie } from "./cookies";

export const SESSION_COOKIE = "session";
const ISSUER = "ignition-api";

// Imported once per secret: importing an HMAC key on every request costs more than verifying.
const keys = new Map<string, Promise<CryptoKey>>();
function key(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, k);
  }
  return k;
}

/** The cookie value: an HS256 JWT (SESSION_SECRET) carrying the session id and its expiry. */
export async function signSessionCookie(config: Config, sessionToken: string, expiresAt: Date): Promise<string> {
  return new SignJWT({ sid: sessionToken })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await key(config.sessionSecret));
}

// Cookies this process has already verified, with their expiry: verifying the same bytes again
// would give the same answer, and it was ~7 % of an authenticated request's CPU. Only the
// signature check is skipped; the session itself is still looked up on every request.
const VERIFIED_MAX = 10_000;
const verified = new Map<string, { sid: string; exp: number }>();

function remember(value: string, sid: string, exp: number): void {
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(value, { sid, exp });
}

/**
 * The session id from a valid cookie, or null. SESSION_SECRET_PREVIOUS is still accepted, so
 * rotating the secret does not sign everyone out.
 */
export async function readSessionToken(config: Config, request: Request): Promise<string | null> {
  const value = readCookie(request, SESSION_COOKIE);
  if (!value || value.length > 1024) return null;
  const known = verified.get(value);
  if (known) {
    if (known.exp * 1000 > Date.now()) return known.sid;
    verified.delete(value);
    return null;
  }
  for (const secret of [config.sessionSecret, config.sessionSecretPrevious]) {
    if (!secret) continue;
    try {
      const { payload } = await jwtVerify(value, await key(secret), { algorithms: ["HS256"], issuer: ISSUER });
      if (typeof payload.sid !== "string" || payload.sid.length < 32 || typeof payload.exp !== "number") return null;
      remember(value, payload.sid, payload.exp);
      return payload.sid;
    } catch {
      // try the next secret
    }
  }
  return null;
}

export async function sessionCookieHeader(config: Config, sessionToken: string, expiresAt: Date): Promise<string> {
  const value = await signSessionCookie(config, sessionToken, expiresAt);
  return setCookie(config, SESSION_COOKIE, value, (expiresAt.getTime() - Date.now()) / 1000);
}

export function clearSessionCookieHeader(config: Config): string {
  return clearCookie(config, SESSION_COOKIE);
}
