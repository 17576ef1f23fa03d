import { jwtVerify, type JWTPayload } from "jose";
import { discover, keySet, type Discovery } from "./discovery";
import type { OAuthProvider } from "./provider";

export class TokenError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** The provider's configuration, or a sign-in failure (never a 500) when it cannot be had. */
export async function providerConfig(provider: OAuthProvider): Promise<Discovery> {
  let doc: Discovery;
  try {
    doc = await discover(provider.discoveryUrl);
  } catch (err) {
    throw new TokenError("provider_unavailable", `discovery failed: ${(err as Error).message}`);
  }
  if (!provider.discoveredIssuerMatches(doc.issuer)) {
    throw new TokenError("provider_unavailable", `discovery names an unexpected issuer ${doc.issuer}`);
  }
  return doc;
}

/** Exchanges the authorization code (confidential client + PKCE verifier) for an ID token. */
export async function exchangeCode(provider: OAuthProvider, code: string, codeVerifier: string, redirectUri: string): Promise<string> {
  const { token_endpoint } = await providerConfig(provider);
  let res: Response;
  try {
    res = await fetch(token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        client_id: provider.clientId,
        client_secret: provider.clientSecret,
        code_verifier: codeVerifier,
      }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new TokenError("provider_unavailable", `token endpoint unreachable: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
  if (!res.ok || typeof body.id_token !== "string") {
    throw new TokenError("code_exchange_failed", `token endpoint answered ${res.status} ${String(body.error ?? "")}`.trim());
  }
  return body.id_token;
}

/** Verifies the ID token: signature against the provider's JWKS, issuer, audience, expiry and nonce. */
export async function verifyIdToken(provider: OAuthProvider, idToken: string, nonce: string): Promise<JWTPayload> {
  const doc = await providerConfig(provider);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keySet(doc.jwks_uri), {
      audience: provider.clientId,
      algorithms: ["RS256", "RS384", "RS512", "ES256", "PS256"],
      clockTolerance: 60,
      requiredClaims: ["sub", "exp", "iat"],
    }));
  } catch (err) {
    throw new TokenError("invalid_token", `ID token rejected: ${(err as Error).message}`);
  }
  if (!provider.issuerMatches(payload.iss, payload, doc.issuer)) throw new TokenError("invalid_token", "ID token issuer mismatch");
  if (payload.nonce !== nonce) throw new TokenError("invalid_token", "ID token nonce mismatch");
  return payload;
}
