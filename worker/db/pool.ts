import { Pool, neonConfig, type PoolClient } from "@neondatabase/serverless";
import type { DatabaseConfig } from "../config";
import { mapDbError } from "./errors";
import type { Db, PoolStats, Sql } from "./sql";
import { TcpWebSocket } from "./tcp-websocket";

export interface DbObserver {
  /** Called once per statement with its duration; used for the query-duration histogram. */
  query(durationMs: number): void;
}

let transportConfigured: DatabaseConfig["driver"] | null = null;

/** neonConfig is process-wide; a process uses one transport, chosen by DATABASE_DRIVER. */
function configureTransport(driver: DatabaseConfig["driver"]): void {
  if (transportConfigured === driver) return;
  if (driver === "tcp") {
    neonConfig.webSocketConstructor = TcpWebSocket as unknown as typeof WebSocket;
    neonConfig.wsProxy = (host: string, port: number | string) => `${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    // Pipelining the startup assumes cleartext passwords; SCRAM-SHA-256 needs the normal handshake.
    neonConfig.pipelineConnect = false;
    neonConfig.pipelineTLS = false;
    neonConfig.forceDisablePgSSL = true;
    neonConfig.coalesceWrites = false;
  }
  transportConfigured = driver;
}

async function timed<T>(observer: DbObserver | undefined, run: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await run();
  } catch (err) {
    throw mapDbError(err);
  } finally {
    observer?.query(Date.now() - start);
  }
}

// Statements with parameters run as named prepared statements, parsed and planned once per
// connection: re-planning the same query on every request was a large share of PostgreSQL's CPU.
const statementNames = new Map<string, string>();
function statement(text: string, params?: readonly unknown[]) {
  if (!params || params.length === 0) return { text };
  let name = statementNames.get(text);
  if (name === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    name = `s${(h >>> 0).toString(36)}_${text.length}`;
    statementNames.set(text, name);
  }
  return { name, text, values: params as unknown[] };
}

function clientSql(client: PoolClient, observer?: DbObserver): Sql {
  return {
    query: <T>(text: string, params?: readonly unknown[]) =>
      timed(observer, async () => (await client.query(statement(text, params))).rows as T[]),
  };
}

export function createDb(config: DatabaseConfig, observer?: DbObserver, maxConnections = config.poolSize): Db {
  configureTransport(config.driver);
  const pool = new Pool({
    connectionString: config.url,
    max: maxConnections,
    connectionTimeoutMillis: config.acquireTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    // Server-side limit per statement, plus a client-side one in case the connection silently hangs.
    statement_timeout: config.statementTimeoutMs,
    query_timeout: config.statementTimeoutMs + 1000,
    application_name: "ignition-api",
  } as ConstructorParameters<typeof Pool>[0]);
  // An idle connection that dies (database restart) must not crash the process; the pool drops it.
  pool.on("error", () => {});

  return {
    query: <T>(text: string, params?: readonly unknown[]) =>
      timed(observer, async () => (await pool.query(statement(text, params))).rows as T[]),

    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw mapDbError(err);
      }
      const tx = clientSql(client, observer);
      let broken: unknown = undefined;
      try {
        await tx.query("BEGIN");
        const result = await fn(tx);
        await tx.query("COMMIT");
        return result;
      } catch (err) {
        try {
          await client.query("ROLLBACK");
        } catch (rollbackErr) {
          broken = rollbackErr; // the connection is unusable: destroy it instead of reusing it
        }
        throw err;
      } finally {
        client.release(broken as Error | undefined);
      }
    },

    stats(): PoolStats {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },

    end: () => pool.end(),
  };
}
