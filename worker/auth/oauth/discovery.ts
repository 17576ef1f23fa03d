import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";

export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

const TTL_MS = 60 * 60 * 1000;
const documents = new Map<string, { doc: Discovery; at: number }>();
const keySets = new Map<string, JWTVerifyGetKey>();

/** The provider's OpenID configuration, cached per process for an hour. */
export async function discover(url: string): Promise<Discovery> {
  const hit = documents.get(url);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.doc;
  const res = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`discovery ${url} answered ${res.status}`);
  const doc = (await res.json()) as Partial<Discovery>;
  for (const field of ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    if (typeof doc[field] !== "string") throw new Error(`discovery ${url} lacks ${field}`);
  }
  documents.set(url, { doc: doc as Discovery, at: Date.now() });
  return doc as Discovery;
}

/** The provider's signing keys (jose caches them and refetches on an unknown kid). */
export function keySet(jwksUri: string): JWTVerifyGetKey {
  let set = keySets.get(jwksUri);
  if (!set) {
    set = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    keySets.set(jwksUri, set);
  }
  return set;
}
