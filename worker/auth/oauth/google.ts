import type { OAuthClient } from "../../config";
import type { OAuthProvider } from "./provider";

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

export function googleProvider(client: OAuthClient, issuer: string): OAuthProvider {
  return {
    id: "google",
    name: "Google",
    accountProvider: "google",
    scope: "openid email profile",
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    discoveredIssuerMatches: (discovered) => discovered === issuer,
    // Google documents both forms of its issuer.
    issuerMatches: (iss, _claims, discovered) =>
      iss === discovered || (discovered === "https://accounts.google.com" && iss === "accounts.google.com"),
    identity: (claims) => ({
      subject: String(claims.sub),
      email: str(claims.email)?.toLowerCase() ?? null,
      emailVerified: claims.email_verified === true,
      name: str(claims.name),
      image: str(claims.picture),
    }),
  };
}
