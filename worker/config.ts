// Reads the flat environment variables the deploy files pass (see the deployment guide) once per
// isolate into a typed Config. Problems are collected per variable, never thrown, so that the
// service can still answer /health/ready with the list of what is wrong (names only, no values).
import { Reader, type ConfigProblem, type Env } from "./config-reader";

export type { ConfigProblem, Env } from "./config-reader";

export type Environment = "development" | "staging" | "production";
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

export interface StorageConfig {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Base of presigned URLs when browsers reach the store at another address than the API does
   * (MinIO on a private network behind a public name); null = endpoint. */
  publicEndpoint: string | null;
}

export interface DatabaseConfig {
  url: string;
  /** "tcp": plain PostgreSQL over cloudflare:sockets, pooled; "neon": Neon over WebSocket per request. */
  driver: "tcp" | "neon";
  /**
   * "shared": one pool per workerd process, owned by a Durable Object, reused across requests.
   * "per-request": a connection per request (what Cloudflare+Neon does; also the benchmark baseline).
   */
  pooling: "shared" | "per-request";
  poolSize: number;
  acquireTimeoutMs: number;
  statementTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface AuthConfig {
  /** Absolute session lifetime (AUTH_SESSION_TTL_SECONDS). */
  sessionTtlSeconds: number;
  /** A session unused for this long ends (AUTH_SESSION_IDLE_SECONDS). */
  sessionIdleSeconds: number;
  /** Sign-in and callback requests per client IP per minute. */
  signinRateLimitPerMinute: number;
  /** Mutating API requests per user per minute. */
  apiRateLimitPerMinute: number;
  /** Header that carries the client address set by the proxy in front of the API. */
  clientIpHeader: string;
  /** Proxies in front of the API that each append to X-Forwarded-For (CLIENT_IP_PROXY_HOPS). */
  clientIpProxyHops: number;
  /** OpenID issuer overrides for local stand-ins; refused in production. */
  googleIssuer: string;
  azureAuthority: string;
}

export interface Config {
  environment: Environment;
  port: number;
  publicUrl: string;
  frontendUrl: string;
  database: DatabaseConfig;
  sessionSecret: string;
  sessionSecretPrevious: string | null;
  cookieDomain: string | null;
  google: OAuthClient | null;
  azure: (OAuthClient & { tenantId: string }) | null;
  storage: StorageConfig | null;
  corsAllowedOrigins: string[];
  devBypass: boolean;
  auth: AuthConfig;
  metricsEnabled: boolean;
  logLevel: LogLevel;
  maxBodyBytes: number;
  instance: string;
}

export interface LoadedConfig {
  config: Config;
  problems: ConfigProblem[];
}

/** A DNS name (a leading dot, which browsers ignore, is allowed). */
const HOSTNAME = /^\.?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
/** Used only in development when SESSION_SECRET is unset; refused in any other environment. */
const DEV_SESSION_SECRET = "development-only-session-secret-do-not-use-in-production";

/** An origin is scheme://host[:port] with nothing after it, compared exactly. */
export function parseOrigin(value: string): string | null {
  try {
    const u = new URL(value);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    if (u.origin !== value.replace(/\/$/, "")) return null;
    return u.origin;
  } catch {
    return null;
  }
}

function readDatabase(r: Reader): DatabaseConfig {
  const url = r.str("DATABASE_URL");
  if (url === null) {
    r.fail("DATABASE_URL", "is required");
  } else {
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === "postgres:" || u.protocol === "postgresql:") && u.hostname !== "" && u.pathname.length > 1;
    } catch {
      ok = false;
    }
    if (!ok) r.fail("DATABASE_URL", "must be a postgres://user:password@host:port/database URL");
  }
  const driver = r.oneOf("DATABASE_DRIVER", ["tcp", "neon"] as const, "tcp");
  return {
    url: url ?? "",
    driver,
    pooling: driver === "neon" ? "per-request" : r.oneOf("DATABASE_POOLING", ["shared", "per-request"] as const, "shared"),
    poolSize: r.int("DATABASE_POOL_SIZE", 10, 1, 200),
    acquireTimeoutMs: r.int("DATABASE_ACQUIRE_TIMEOUT_MS", 5000, 100, 120000),
    statementTimeoutMs: r.int("DATABASE_STATEMENT_TIMEOUT_MS", 5000, 100, 600000),
    idleTimeoutMs: r.int("DATABASE_IDLE_TIMEOUT_MS", 30000, 1000, 3600000),
  };
}

/** All-or-nothing groups: a half-configured provider or store is an error, an absent one is off. */
function readGroup(r: Reader, names: string[]): Record<string, string> | null {
  const values = Object.fromEntries(names.map((n) => [n, r.str(n)]));
  const given = names.filter((n) => values[n] !== null);
  if (given.length === 0) return null;
  const missing = names.filter((n) => values[n] === null);
  for (const n of missing) r.fail(n, `is required when ${given.join(", ")} ${given.length > 1 ? "are" : "is"} set`);
  return missing.length === 0 ? (values as Record<string, string>) : null;
}

function readCors(r: Reader, environment: Environment): string[] {
  const raw = r.str("CORS_ALLOWED_ORIGINS");
  if (raw === null) {
    if (environment === "development") return ["http://localhost:3000", "http://localhost:3001"];
    r.fail("CORS_ALLOWED_ORIGINS", "is required outside development (comma-separated origins)");
    return [];
  }
  const origins: string[] = [];
  const parts = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) r.fail("CORS_ALLOWED_ORIGINS", "lists no origin (comma-separated origins like https://app.example.com)");
  for (const [i, part] of parts.entries()) {
    const origin = parseOrigin(part);
    // Named by position: problem messages never repeat a configured value.
    if (origin === null) r.fail("CORS_ALLOWED_ORIGINS", `entry ${i + 1} is not an origin like https://app.example.com`);
    else origins.push(origin);
  }
  return origins;
}

/**
 * Why a session secret is unfit, or null. Randomness cannot be measured, but the published
 * development secret and strings of a few repeated characters ("a" × 32) are certainly not random.
 */
function weakSecret(secret: string, environment: Environment): string | null {
  if (secret.length < 32) return "must be at least 32 characters";
  if (environment !== "development" && secret === DEV_SESSION_SECRET) return "is the published development secret: generate one (openssl rand -base64 48)";
  if (new Set(secret).size < 10) return "has fewer than 10 different characters: generate a random one (openssl rand -base64 48)";
  return null;
}

function readSecrets(r: Reader, environment: Environment): Pick<Config, "sessionSecret" | "sessionSecretPrevious"> {
  let secret = r.str("SESSION_SECRET");
  if (secret === null) {
    if (environment !== "development") r.fail("SESSION_SECRET", "is required");
    secret = DEV_SESSION_SECRET;
  } else {
    const weak = weakSecret(secret, environment);
    if (weak) r.fail("SESSION_SECRET", weak);
  }
  const previous = r.str("SESSION_SECRET_PREVIOUS");
  const weakPrevious = previous === null ? null : weakSecret(previous, environment);
  if (weakPrevious) r.fail("SESSION_SECRET_PREVIOUS", weakPrevious);
  return { sessionSecret: secret, sessionSecretPrevious: previous };
}

function readAuth(r: Reader, dev: boolean): AuthConfig {
  const googleIssuer = r.httpUrl("GOOGLE_ISSUER_URL", "https://accounts.google.com");
  const azureAuthority = r.httpUrl("AZURE_AUTHORITY_URL", "https://login.microsoftonline.com");
  for (const name of ["GOOGLE_ISSUER_URL", "AZURE_AUTHORITY_URL"]) {
    if (!dev && r.str(name) !== null) r.fail(name, "overrides a sign-in provider and is only allowed in development");
  }
  const ttl = r.int("AUTH_SESSION_TTL_SECONDS", 30 * 24 * 3600, 300, 366 * 24 * 3600);
  return {
    sessionTtlSeconds: ttl,
    sessionIdleSeconds: Math.min(ttl, r.int("AUTH_SESSION_IDLE_SECONDS", 7 * 24 * 3600, 300, 366 * 24 * 3600)),
    signinRateLimitPerMinute: r.int("RATE_LIMIT_SIGNIN_PER_MINUTE", 10, 1, 100000),
    apiRateLimitPerMinute: r.int("RATE_LIMIT_API_PER_MINUTE", 100, 1, 1000000),
    clientIpHeader: (r.str("CLIENT_IP_HEADER") ?? "x-forwarded-for").toLowerCase(),
    clientIpProxyHops: r.int("CLIENT_IP_PROXY_HOPS", 1, 1, 10),
    googleIssuer,
    azureAuthority,
  };
}

/** OAuth redirect targets: a localhost default is right in development and wrong anywhere else. */
function requiredOutsideDev(r: Reader, dev: boolean, name: string, devDefault: string): string {
  if (!dev && r.str(name) === null) r.fail(name, "is required outside development");
  return r.httpUrl(name, devDefault);
}

export function loadConfig(env: Env): LoadedConfig {
  const r = new Reader(env);
  const environment = r.oneOf("SERVER_ENVIRONMENT", ["development", "staging", "production"] as const, "production");
  const dev = environment === "development";

  const google = readGroup(r, ["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"]);
  const azure = readGroup(r, ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"]);
  const storage = readGroup(r, ["STORAGE_ENDPOINT", "STORAGE_BUCKET", "STORAGE_ACCESS_KEY_ID", "STORAGE_SECRET_ACCESS_KEY"]);
  if (storage) r.httpUrl("STORAGE_ENDPOINT", "");
  const storagePublic = r.httpUrl("STORAGE_PUBLIC_ENDPOINT", "");
  if (!dev && !google && !azure && r.problems.every((p) => !/^(GOOGLE|AZURE)_/.test(p.variable))) {
    r.fail("GOOGLE_CLIENT_ID", "no sign-in provider is configured: set GOOGLE_* and/or AZURE_*");
  }

  const devBypass = r.bool("AUTH_DEV_BYPASS", false);
  if (devBypass && !dev) r.fail("AUTH_DEV_BYPASS", "must not be true outside SERVER_ENVIRONMENT=development");

  const auth = readAuth(r, dev);
  const cookieDomain = r.str("AUTH_COOKIE_DOMAIN");
  if (cookieDomain === null && !dev) r.fail("AUTH_COOKIE_DOMAIN", "is required outside development");
  else if (cookieDomain !== null && !HOSTNAME.test(cookieDomain)) {
    r.fail("AUTH_COOKIE_DOMAIN", "must be a domain name like example.com (no scheme, port or path)");
  }

  const port = r.int("SERVER_PORT", 8080, 1, 65535);
  const config: Config = {
    environment,
    port,
    publicUrl: requiredOutsideDev(r, dev, "SERVER_PUBLIC_URL", `http://localhost:${port}`),
    frontendUrl: requiredOutsideDev(r, dev, "FRONTEND_URL", "http://localhost:3000"),
    database: readDatabase(r),
    ...readSecrets(r, environment),
    cookieDomain,
    google: google && { clientId: google.GOOGLE_CLIENT_ID!, clientSecret: google.GOOGLE_CLIENT_SECRET! },
    azure: azure && {
      clientId: azure.AZURE_CLIENT_ID!,
      clientSecret: azure.AZURE_CLIENT_SECRET!,
      tenantId: azure.AZURE_TENANT_ID!,
    },
    storage: storage && {
      endpoint: storage.STORAGE_ENDPOINT!.replace(/\/+$/, ""),
      bucket: storage.STORAGE_BUCKET!,
      region: r.str("STORAGE_REGION") ?? "auto",
      accessKeyId: storage.STORAGE_ACCESS_KEY_ID!,
      secretAccessKey: storage.STORAGE_SECRET_ACCESS_KEY!,
      publicEndpoint: storagePublic === "" ? null : storagePublic,
    },
    corsAllowedOrigins: readCors(r, environment),
    devBypass,
    auth,
    metricsEnabled: r.bool("METRICS_ENABLED", dev),
    logLevel: r.oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
    maxBodyBytes: r.int("MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    instance: r.str("INSTANCE_NAME") ?? crypto.randomUUID().slice(0, 8),
  };
  // A browser refuses a cookie whose Domain does not contain the host that sets it: sign-in would
  // seem to work and then forget the user.
  if (!dev && cookieDomain !== null && HOSTNAME.test(cookieDomain) && !r.problems.some((p) => p.variable === "SERVER_PUBLIC_URL")) {
    const host = new URL(config.publicUrl).hostname.toLowerCase();
    const domain = cookieDomain.toLowerCase().replace(/^\./, "");
    if (host !== domain && !host.endsWith(`.${domain}`)) {
      r.fail("AUTH_COOKIE_DOMAIN", "must be SERVER_PUBLIC_URL's host or a parent domain of it");
    }
  }
  return { config, problems: r.problems };
}
