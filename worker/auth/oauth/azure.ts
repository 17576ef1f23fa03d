import type { OAuthClient } from "../../config";
import type { OAuthProvider } from "./provider";

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Microsoft Entra ID (v2.0 endpoints). AZURE_TENANT_ID is a tenant GUID (single-tenant) or
 * common / organizations / consumers (multi-tenant), whose discovery document names the issuer
 * with a `{tenantid}` placeholder: the token's issuer must then be that template filled with the
 * token's own `tid`.
 */
export function azureProvider(client: OAuthClient & { tenantId: string }, authority: string): OAuthProvider {
  return {
    id: "azure",
    name: "Microsoft",
    accountProvider: "azure-ad",
    scope: "openid email profile",
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    discoveryUrl: `${authority}/${encodeURIComponent(client.tenantId)}/v2.0/.well-known/openid-configuration`,
    // Entra names the issuer per tenant (a GUID, or {tenantid} for the multi-tenant endpoints).
    discoveredIssuerMatches: (discovered) =>
      discovered.startsWith(`${authority}/`) && discovered.endsWith("/v2.0") &&
      (TENANT_ID.test(client.tenantId) ? discovered === `${authority}/${client.tenantId}/v2.0` : true),
    issuerMatches(iss, claims, discovered) {
      if (!discovered.includes("{tenantid}")) return iss === discovered;
      const tid = claims.tid;
      return typeof tid === "string" && TENANT_ID.test(tid) && iss === discovered.replace("{tenantid}", tid);
    },
    identity: (claims) => {
      const email = str(claims.email) ?? str(claims.preferred_username);
      return {
        subject: String(claims.sub),
        email: email?.toLowerCase() ?? null,
        // Entra does not verify the email claim in general (any tenant admin can set it); only the
        // xms_edov optional claim says the domain owner verified it. Unverified → no linking by email.
        emailVerified: str(claims.email) !== null && (claims.xms_edov === true || claims.email_verified === true),
        name: str(claims.name),
        image: null,
      };
    },
  };
}
