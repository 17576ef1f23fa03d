import type { AuthUser } from "./auth/user";
import type { Config, ConfigProblem } from "./config";
import type { Db, PoolStats } from "./db/sql";
import type { Logger } from "./observability/logger";
import type { BlobStore } from "./storage/blob-store";
import type { Metrics } from "./observability/metrics";

/** What lives as long as the isolate (or, in per-request database mode, one request). */
export interface Services {
  config: Config;
  problems: ConfigProblem[];
  version: string;
  metrics: Metrics;
  log: Logger;
  /** The database; created on first use. Throws config_error when DATABASE_URL is unusable. */
  db(): Db;
  /** Object storage. Throws 503 storage_unavailable when STORAGE_* are not configured. */
  storage(): BlobStore;
  /** Pool statistics when a pool exists, for /metrics. */
  dbStats(): PoolStats | null;
  /** Work that may finish after the response (housekeeping); it must handle its own errors. */
  waitUntil(work: Promise<unknown>): void;
}

/** What a route handler receives besides the request. */
export interface AppContext extends Services {
  requestId: string;
  /** Client address from the proxy header (CLIENT_IP_HEADER), when present and well-formed. */
  clientIp: string | null;
  userAgent: string | null;
  /** The signed-in user once authentication ran (see auth/authenticate.ts); logged with the request. */
  user: AuthUser | null;
  /** Set-Cookie headers to add to the response, whatever it turns out to be. */
  cookies: string[];
}
