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

/**
 * The session id from a valid cookie, or null. SESSION_SECRET_PREVIOUS is still accepted, so
 * rotating the secret does not sign everyone out.
 */
export async function readSessionToken(config: Config, request: Request): Promise<string | null> {
  const value = readCookie(request, SESSION_COOKIE);
  if (!value || value.length > 1024) return null;
  for (const secret of [config.sessionSecret, config.sessionSecretPrevious]) {
    if (!secret) continue;
    try {
      const { payload } = await jwtVerify(value, await key(secret), { algorithms: ["HS256"], issuer: ISSUER });
      return typeof payload.sid === "string" && payload.sid.length >= 32 ? payload.sid : null;
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
