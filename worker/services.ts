import { loadConfig, type Env, type LoadedConfig } from "./config";
import type { Services } from "./context";
import { createDb } from "./db/pool";
import type { Db } from "./db/sql";
import { AppError } from "./http/errors";
import { createLogger } from "./observability/logger";
import { Metrics } from "./observability/metrics";
import type { BlobStore } from "./storage/blob-store";
import { S3BlobStore } from "./storage/s3";
import { VERSION } from "./version";

let cached: { env: Env; loaded: LoadedConfig; metrics: Metrics } | null = null;

/** Config is parsed and validated once per isolate; metrics are per isolate too. */
function isolateState(env: Env) {
  if (cached === null || cached.env !== env) {
    const loaded = loadConfig(env);
    cached = { env, loaded, metrics: cached?.metrics ?? new Metrics() };
    if (loaded.problems.length > 0) {
      createLogger("warn").warn("configuration problems", { problems: loaded.problems });
    }
  }
  return cached;
}

export function loadConfigCached(env: Env): LoadedConfig {
  return isolateState(env).loaded;
}

/**
 * Builds the services for one database scope: the whole isolate when the pool is shared
 * (Durable Object host), or a single request when each request opens its own connection.
 */
export function createServices(env: Env, waitUntil: (work: Promise<unknown>) => void, maxConnections?: number): Services {
  const { loaded, metrics } = isolateState(env);
  const { config, problems } = loaded;
  let db: Db | null = null;
  let storage: BlobStore | null = null;
  return {
    config,
    problems,
    version: VERSION,
    metrics,
    log: createLogger(config.logLevel, { instance: config.instance }),
    db() {
      if (db === null) {
        if (problems.some((p) => p.variable.startsWith("DATABASE_"))) {
          throw new AppError("config_error", "The database is not configured correctly");
        }
        db = createDb(config.database, { query: (ms) => metrics.observeQuery(ms) }, maxConnections);
      }
      return db;
    },
    storage() {
      if (config.storage === null) throw new AppError("storage_unavailable", "Blob storage is not configured on this server");
      storage ??= new S3BlobStore(config.storage);
      return storage;
    },
    dbStats: () => db?.stats() ?? null,
    waitUntil,
  };
}
