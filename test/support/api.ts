import { startApiProcess } from "../../scripts/lib/api-process.mjs";
import { freePort } from "../../scripts/lib/postgres.mjs";

export interface ApiProcess {
  url: string;
  /** workerd's process id (the entrypoint execs it). */
  pid: number;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts another API process (same runtime folder and config.capnp) with its own environment;
 * SERVER_PUBLIC_URL defaults to its own address.
 */
export async function startApi(env: Record<string, string>, readyPath = "/health/live"): Promise<ApiProcess> {
  const port = await freePort();
  return startApiProcess({ env: { SERVER_PUBLIC_URL: `http://127.0.0.1:${port}`, ...env }, port, readyPath });
}

/** A production-like environment that passes validation; tests remove or break one part of it. */
export function productionEnv(databaseUrl: string): Record<string, string> {
  return {
    SERVER_ENVIRONMENT: "production",
    DATABASE_URL: databaseUrl,
    SESSION_SECRET: "production-like-session-secret-0123456789-xyz",
    AUTH_COOKIE_DOMAIN: "example.com",
    SERVER_PUBLIC_URL: "https://api.example.com",
    FRONTEND_URL: "https://app.example.com",
    CORS_ALLOWED_ORIGINS: "https://app.example.com",
    GOOGLE_CLIENT_ID: "client-id.apps.example.com",
    GOOGLE_CLIENT_SECRET: "google-client-secret",
    LOG_LEVEL: "warn",
  };
}
