import type { JWTPayload } from "jose";
import type { Config } from "../../config";
import { azureProvider } from "./azure";
import { googleProvider } from "./google";

/** What a provider asserts about the person signing in. */
export interface Identity {
  subject: string;
  email: string | null;
  /** Only a provider-verified email may link to an existing account. */
  emailVerified: boolean;
  name: string | null;
  image: string | null;
}

export type ProviderId = "google" | "azure";

/** One OpenID Connect provider; the flow (flow.ts) is shared. */
export interface OAuthProvider {
  id: ProviderId;
  name: string;
  /** The `accounts.provider` value stored for it. */
  accountProvider: "google" | "azure-ad";
  scope: string;
  clientId: string;
  clientSecret: string;
  discoveryUrl: string;
  /** Whether the discovery document's issuer is the one configured (not some other provider's). */
  discoveredIssuerMatches(issuer: string): boolean;
  /** Whether `iss` is right for this provider, given the issuer its discovery document names. */
  issuerMatches(iss: string | undefined, claims: JWTPayload, discoveredIssuer: string): boolean;
  identity(claims: JWTPayload): Identity;
}

export function configuredProviders(config: Config): OAuthProvider[] {
  const list: OAuthProvider[] = [];
  if (config.google) list.push(googleProvider(config.google, config.auth.googleIssuer));
  if (config.azure) list.push(azureProvider(config.azure, config.auth.azureAuthority));
  return list;
}

export function isProviderId(id: string): id is ProviderId {
  return id === "google" || id === "azure";
}
