// A local stand-in for Google and Microsoft Entra, speaking OpenID Connect with real RS256-signed
// ID tokens: discovery, authorize (auto-approves), token (checks client secret, redirect_uri and
// PKCE), JWKS and userinfo. The identity to sign in as travels in the authorize URL's
// `test_identity` parameter (base64url JSON), which the test — acting as the browser — appends,
// so test files can run in parallel against one instance.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

export interface TestIdentity {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** Entra: tenant id claim (multi-tenant issuer check). */
  tid?: string;
  xms_edov?: boolean;
  /** Make the token wrong in one way. */
  tamper?: { nonce?: string; aud?: string; iss?: string; expiredSecondsAgo?: number; foreignKey?: boolean };
  /** Make the token endpoint refuse the code. */
  failExchange?: boolean;
}

export const AZURE_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string;
  identity: TestIdentity;
  issuer: string;
  used: boolean;
}

export interface OidcStandIn {
  url: string;
  googleIssuer: string;
  azureAuthority: string;
  clients: { google: { id: string; secret: string }; azure: { id: string; secret: string } };
  close(): Promise<void>;
}

export function encodeIdentity(identity: TestIdentity): string {
  return Buffer.from(JSON.stringify(identity)).toString("base64url");
}

export async function startOidcStandIn(): Promise<OidcStandIn> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const foreign = await generateKeyPair("RS256");
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const grants = new Map<string, Grant>();
  const clients = {
    google: { id: "google-client.apps.test", secret: randomBytes(16).toString("hex") },
    azure: { id: randomUUID(), secret: randomBytes(16).toString("hex") },
  };
  let base = "";

  function discovery(issuer: string, prefix: string) {
    return {
      issuer,
      authorization_endpoint: `${base}${prefix}/authorize`,
      token_endpoint: `${base}${prefix}/token`,
      userinfo_endpoint: `${base}${prefix}/userinfo`,
      jwks_uri: `${base}/jwks`,
      response_types_supported: ["code"],
      id_token_signing_alg_values_supported: ["RS256"],
      code_challenge_methods_supported: ["S256"],
    };
  }

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  async function idToken(grant: Grant, client: { id: string }): Promise<string> {
    const t = grant.identity.tamper ?? {};
    const now = Math.floor(Date.now() / 1000) - (t.expiredSecondsAgo ?? 0);
    const claims: Record<string, unknown> = {
      nonce: t.nonce ?? grant.nonce,
      email: grant.identity.email,
      email_verified: grant.identity.email_verified,
      name: grant.identity.name,
    };
    if (grant.identity.tid) claims.tid = grant.identity.tid;
    if (grant.identity.xms_edov !== undefined) claims.xms_edov = grant.identity.xms_edov;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid })
      .setIssuer(t.iss ?? grant.issuer)
      .setAudience(t.aud ?? client.id)
      .setSubject(grant.identity.sub)
      .setIssuedAt(now - 10)
      .setExpirationTime(now + (t.expiredSecondsAgo ? -1 : 600))
      .sign(t.foreignKey ? foreign.privateKey : privateKey);
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", base);
    const path = url.pathname;
    // Google-like issuer at /google; Entra-like authority at /azure/{tenant}/v2.0.
    const google = path.startsWith("/google");
    const azure = /^\/azure\/([^/]+)\/v2\.0/.exec(path);
    const prefix = google ? "/google" : azure ? `/azure/${azure[1]}/v2.0` : "";
    const issuer = google
      ? `${base}/google`
      : azure
        ? `${base}/azure/${["common", "organizations", "consumers"].includes(azure[1]!) ? "{tenantid}" : azure[1]}/v2.0`
        : "";
    const client = google ? clients.google : clients.azure;

    if (path === "/jwks") return send(res, 200, { keys: [jwk] });
    if (path === `${prefix}/.well-known/openid-configuration`) return send(res, 200, discovery(issuer, prefix));

    if (path === `${prefix}/authorize`) {
      const p = url.searchParams;
      if (p.get("client_id") !== client.id || p.get("response_type") !== "code" || p.get("code_challenge_method") !== "S256") {
        return send(res, 400, { error: "invalid_request" });
      }
      const identity = JSON.parse(Buffer.from(p.get("test_identity") ?? "", "base64url").toString() || "null") as TestIdentity | null;
      const redirect = new URL(p.get("redirect_uri")!);
      if (!identity) {
        redirect.search = new URLSearchParams({ error: "access_denied", state: p.get("state") ?? "" }).toString();
      } else {
        const code = randomBytes(16).toString("hex");
        const tokenIssuer = issuer.replace("{tenantid}", identity.tid ?? AZURE_TENANT);
        grants.set(code, { clientId: client.id, redirectUri: redirect.toString(), challenge: p.get("code_challenge")!, nonce: p.get("nonce")!, identity, issuer: tokenIssuer, used: false });
        redirect.search = new URLSearchParams({ code, state: p.get("state") ?? "" }).toString();
      }
      res.writeHead(302, { Location: redirect.toString() });
      return res.end();
    }

    if (path === `${prefix}/token` && req.method === "POST") {
      let raw = "";
      for await (const chunk of req) raw += chunk;
      const form = new URLSearchParams(raw);
      const grant = grants.get(form.get("code") ?? "");
      const verifier = form.get("code_verifier") ?? "";
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      if (
        !grant || grant.used || grant.identity.failExchange ||
        form.get("client_id") !== client.id || form.get("client_secret") !== client.secret ||
        form.get("redirect_uri") !== grant.redirectUri || challenge !== grant.challenge
      ) {
        return send(res, 400, { error: "invalid_grant" });
      }
      grant.used = true;
      return send(res, 200, { token_type: "Bearer", access_token: randomBytes(16).toString("hex"), expires_in: 3600, id_token: await idToken(grant, client) });
    }

    if (path === `${prefix}/userinfo`) return send(res, 200, {});
    send(res, 404, { error: "not_found" });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    googleIssuer: `${base}/google`,
    azureAuthority: `${base}/azure`,
    clients,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The API variables that point both providers at this stand-in (development only). */
export function oidcEnv(oidc: OidcStandIn, azureTenant = "common"): Record<string, string> {
  return {
    GOOGLE_CLIENT_ID: oidc.clients.google.id,
    GOOGLE_CLIENT_SECRET: oidc.clients.google.secret,
    GOOGLE_ISSUER_URL: oidc.googleIssuer,
    AZURE_CLIENT_ID: oidc.clients.azure.id,
    AZURE_CLIENT_SECRET: oidc.clients.azure.secret,
    AZURE_TENANT_ID: azureTenant,
    AZURE_AUTHORITY_URL: oidc.azureAuthority,
  };
}
