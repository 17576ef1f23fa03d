import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseOrigin } from "../../worker/config";

const DB = "postgres://u:p@db.internal:5432/ignition";
const prod = {
  SERVER_ENVIRONMENT: "production",
  DATABASE_URL: DB,
  SESSION_SECRET: "k3Fq9vTz-0aLmW2pXr7bNc4sYd8eHj1u",
  AUTH_COOKIE_DOMAIN: "example.com",
  SERVER_PUBLIC_URL: "https://api.example.com",
  FRONTEND_URL: "https://app.example.com",
  CORS_ALLOWED_ORIGINS: "https://app.example.com, https://admin.example.com",
  GOOGLE_CLIENT_ID: "id",
  GOOGLE_CLIENT_SECRET: "secret",
};
const variables = (env: Record<string, unknown>) => loadConfig(env).problems.map((p) => p.variable);

describe("config", () => {
  it("accepts a complete production environment", () => {
    const { config, problems } = loadConfig(prod);
    expect(problems).toEqual([]);
    expect(config.environment).toBe("production");
    expect(config.corsAllowedOrigins).toEqual(["https://app.example.com", "https://admin.example.com"]);
    expect(config.google).toEqual({ clientId: "id", clientSecret: "secret" });
    expect(config.azure).toBeNull();
    expect(config.storage).toBeNull();
    expect(config.metricsEnabled).toBe(false);
    expect(config.database).toMatchObject({ driver: "tcp", pooling: "shared", poolSize: 10, acquireTimeoutMs: 5000, statementTimeoutMs: 5000 });
  });

  it("defaults SERVER_ENVIRONMENT to production, so a bare environment is refused", () => {
    const v = variables({});
    expect(v).toEqual(expect.arrayContaining(["DATABASE_URL", "SESSION_SECRET", "AUTH_COOKIE_DOMAIN", "CORS_ALLOWED_ORIGINS", "SERVER_PUBLIC_URL", "FRONTEND_URL"]));
  });

  it("names a short SESSION_SECRET, a malformed DATABASE_URL and AUTH_DEV_BYPASS in production", () => {
    expect(variables({ ...prod, SESSION_SECRET: "short" })).toEqual(["SESSION_SECRET"]);
    expect(variables({ ...prod, DATABASE_URL: "mysql://x/y" })).toEqual(["DATABASE_URL"]);
    expect(variables({ ...prod, DATABASE_URL: "not a url" })).toEqual(["DATABASE_URL"]);
    expect(variables({ ...prod, AUTH_DEV_BYPASS: "true" })).toEqual(["AUTH_DEV_BYPASS"]);
    expect(variables({ ...prod, SESSION_SECRET_PREVIOUS: "short" })).toEqual(["SESSION_SECRET_PREVIOUS"]);
  });

  it("refuses session secrets that are certainly not random: the published development one, a few repeated characters", () => {
    const published = loadConfig({ SERVER_ENVIRONMENT: "development", DATABASE_URL: DB }).config.sessionSecret;
    expect(variables({ ...prod, SESSION_SECRET: published })).toEqual(["SESSION_SECRET"]);
    expect(variables({ ...prod, SESSION_SECRET: "a".repeat(64) })).toEqual(["SESSION_SECRET"]);
    expect(variables({ ...prod, SESSION_SECRET: "abcd".repeat(16) })).toEqual(["SESSION_SECRET"]);
    expect(variables({ ...prod, SESSION_SECRET_PREVIOUS: "z".repeat(40) })).toEqual(["SESSION_SECRET_PREVIOUS"]);
    // What the docs tell operators to use: openssl rand -hex 32 / -base64 48.
    expect(variables({ ...prod, SESSION_SECRET: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" })).toEqual([]);
    expect(variables({ ...prod, SESSION_SECRET: "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6" })).toEqual([]);
  });

  it("checks AUTH_COOKIE_DOMAIN: a bare domain that contains SERVER_PUBLIC_URL's host", () => {
    expect(variables({ ...prod, AUTH_COOKIE_DOMAIN: "api.example.com" })).toEqual([]);
    expect(variables({ ...prod, AUTH_COOKIE_DOMAIN: ".example.com" })).toEqual([]);
    expect(variables({ ...prod, AUTH_COOKIE_DOMAIN: "https://example.com" })).toEqual(["AUTH_COOKIE_DOMAIN"]);
    expect(variables({ ...prod, AUTH_COOKIE_DOMAIN: "example.com:443" })).toEqual(["AUTH_COOKIE_DOMAIN"]);
    expect(variables({ ...prod, AUTH_COOKIE_DOMAIN: "other.org" })).toEqual(["AUTH_COOKIE_DOMAIN"]);
    expect(variables({ ...prod, AUTH_COOKIE_DOMAIN: "ample.com" })).toEqual(["AUTH_COOKIE_DOMAIN"]);
  });

  it("reads URL schemes case-insensitively (HTTPS:// is https)", () => {
    const { config, problems } = loadConfig({ ...prod, SERVER_PUBLIC_URL: "HTTPS://api.example.com/" });
    expect(problems).toEqual([]);
    expect(config.publicUrl).toBe("https://api.example.com");
  });

  it("refuses a CORS_ALLOWED_ORIGINS that lists no origin", () => {
    expect(variables({ ...prod, CORS_ALLOWED_ORIGINS: " , " })).toEqual(["CORS_ALLOWED_ORIGINS"]);
  });

  it("never puts a value into a problem message", () => {
    const secret = "tiny-secret";
    const { problems } = loadConfig({ ...prod, SESSION_SECRET: secret, DATABASE_URL: "bogus://pw-in-url@x" });
    expect(JSON.stringify(problems)).not.toContain(secret);
    expect(JSON.stringify(problems)).not.toContain("pw-in-url");
    const cors = loadConfig({ ...prod, CORS_ALLOWED_ORIGINS: "https://ok.example.com, not-an-origin-abc", AUTH_COOKIE_DOMAIN: "other.org" }).problems;
    expect(cors.map((p) => p.variable).sort()).toEqual(["AUTH_COOKIE_DOMAIN", "CORS_ALLOWED_ORIGINS"]);
    expect(JSON.stringify(cors)).not.toMatch(/not-an-origin-abc|api\.example\.com|other\.org/);
  });

  it("treats a half-configured provider or store as an error and an absent one as disabled", () => {
    expect(variables({ ...prod, AZURE_CLIENT_ID: "a" })).toEqual(["AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"]);
    expect(variables({ ...prod, STORAGE_ENDPOINT: "https://r2.example.com" })).toEqual([
      "STORAGE_BUCKET",
      "STORAGE_ACCESS_KEY_ID",
      "STORAGE_SECRET_ACCESS_KEY",
    ]);
    const withoutProviders = { ...prod, GOOGLE_CLIENT_ID: undefined, GOOGLE_CLIENT_SECRET: undefined };
    expect(variables(withoutProviders)).toEqual(["GOOGLE_CLIENT_ID"]);
  });

  it("in development, fills safe defaults and leaves optional features off", () => {
    const { config, problems } = loadConfig({ SERVER_ENVIRONMENT: "development", DATABASE_URL: DB });
    expect(problems).toEqual([]);
    expect(config.corsAllowedOrigins).toEqual(["http://localhost:3000", "http://localhost:3001"]);
    expect(config.google).toBeNull();
    expect(config.storage).toBeNull();
    expect(config.metricsEnabled).toBe(true);
    expect(config.publicUrl).toBe("http://localhost:8080");
    expect(config.sessionSecret.length).toBeGreaterThanOrEqual(32);
  });

  it("treats workerd's null for an unset variable and blank strings as unset", () => {
    const { config, problems } = loadConfig({ SERVER_ENVIRONMENT: "development", DATABASE_URL: DB, LOG_LEVEL: null, STORAGE_ENDPOINT: "  " });
    expect(problems).toEqual([]);
    expect(config.logLevel).toBe("info");
    expect(config.storage).toBeNull();
  });

  it("validates numbers, booleans, enums and origins", () => {
    const dev = { SERVER_ENVIRONMENT: "development", DATABASE_URL: DB };
    expect(variables({ ...dev, DATABASE_POOL_SIZE: "0" })).toEqual(["DATABASE_POOL_SIZE"]);
    expect(variables({ ...dev, DATABASE_POOL_SIZE: "ten" })).toEqual(["DATABASE_POOL_SIZE"]);
    expect(variables({ ...dev, METRICS_ENABLED: "yes please" })).toEqual(["METRICS_ENABLED"]);
    expect(variables({ ...dev, LOG_LEVEL: "loud" })).toEqual(["LOG_LEVEL"]);
    expect(variables({ ...dev, SERVER_ENVIRONMENT: "prod" })).toContain("SERVER_ENVIRONMENT");
    expect(variables({ ...dev, CORS_ALLOWED_ORIGINS: "https://ok.example.com,https://bad.example.com/path" })).toEqual(["CORS_ALLOWED_ORIGINS"]);
    expect(variables({ ...dev, SERVER_PUBLIC_URL: "ftp://x" })).toEqual(["SERVER_PUBLIC_URL"]);
  });

  it("parses origins exactly", () => {
    expect(parseOrigin("https://app.example.com")).toBe("https://app.example.com");
    expect(parseOrigin("https://app.example.com/")).toBe("https://app.example.com");
    expect(parseOrigin("http://localhost:3000")).toBe("http://localhost:3000");
    expect(parseOrigin("https://app.example.com/x")).toBeNull();
    expect(parseOrigin("app.example.com")).toBeNull();
    expect(parseOrigin("javascript:alert(1)")).toBeNull();
  });

  it("refuses provider endpoint overrides outside development", () => {
    expect(variables({ ...prod, GOOGLE_ISSUER_URL: "http://127.0.0.1:1/google" })).toEqual(["GOOGLE_ISSUER_URL"]);
    expect(variables({ ...prod, AZURE_AUTHORITY_URL: "http://127.0.0.1:1/azure" })).toEqual(["AZURE_AUTHORITY_URL"]);
    expect(variables({ SERVER_ENVIRONMENT: "development", DATABASE_URL: DB, GOOGLE_ISSUER_URL: "http://127.0.0.1:1/google" })).toEqual([]);
  });

  it("neon driver always uses per-request connections", () => {
    const { config } = loadConfig({ ...prod, DATABASE_DRIVER: "neon", DATABASE_POOLING: "shared" });
    expect(config.database.pooling).toBe("per-request");
  });

  it("every variable the config reads is passed through by container/config.capnp", () => {
    const root = join(__dirname, "..", "..");
    const source = readFileSync(join(root, "worker", "config.ts"), "utf8");
    const capnp = readFileSync(join(root, "container", "config.capnp"), "utf8");
    const read = new Set([...source.matchAll(/"([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1]!).filter((n) => n.includes("_")));
    const bound = new Set([...capnp.matchAll(/fromEnvironment = "([A-Z0-9_]+)"/g)].map((m) => m[1]!));
    expect(read.size).toBeGreaterThan(20);
    for (const name of read) expect(bound, `${name} missing from config.capnp`).toContain(name);
  });

  it("workerd (container/config.capnp) and wrangler run the worker with the same compatibility date and flags", () => {
    const root = join(__dirname, "..", "..");
    const capnp = readFileSync(join(root, "container", "config.capnp"), "utf8");
    const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
    const flags = (text: string | undefined) => [...(text ?? "").matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1]).sort();
    expect(capnp.match(/compatibilityDate = "([0-9-]+)"/)?.[1]).toBe(toml.match(/^compatibility_date = "([0-9-]+)"/m)?.[1]);
    // nodejs_compat gives the database driver the runtime's native Buffer instead of its JS polyfill.
    const capnpFlags = flags(capnp.match(/compatibilityFlags = \[([^\]]*)\]/)?.[1]);
    expect(capnpFlags).toContain("nodejs_compat");
    expect(capnpFlags).toEqual(flags(toml.match(/^compatibility_flags = \[([^\]]*)\]/m)?.[1]));
  });
});
