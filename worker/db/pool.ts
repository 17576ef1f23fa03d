import { Client, Pool, neonConfig, type PoolClient } from "@neondatabase/serverless";
import type { DatabaseConfig } from "../config";
import { AppError } from "../http/errors";
import { mapDbError, poolFailure, sqlState } from "./errors";
import type { Db, PoolStats, Tx } from "./sql";
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
interface Statement {
  text: string;
  name?: string;
  values?: unknown[];
}

function statement(text: string, params?: readonly unknown[]): Statement {
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

// --- Pipelining -------------------------------------------------------------------------------
// node-postgres sends a query only after the previous one's ReadyForQuery, so each statement of a
// transaction costs a full round trip, and on workerd each round trip costs more CPU (socket read,
// promise chain, timers) than the statement's own protocol work. Statements a transaction issues
// together (Promise.all, or a deferred BEGIN with the first statement) are therefore written to the
// socket at once: each is still a complete query with its own Sync, so PostgreSQL runs them one
// after another in order and answers each as if it had been sent alone, and pg's own Query objects
// parse the answers. Only *when* the later ones are written changes.

interface PgConnection {
  parsedStatements: Record<string, string>;
}
interface PgQuery {
  name?: string;
  /** The client's read timeout for this query (node-postgres reads it off the query object). */
  query_timeout?: number;
  submit(connection: PgConnection): Error | null | undefined;
}
type PgQueryClass = new (config: {
  text: string;
  name?: string;
  values?: unknown[];
  callback: (err: Error | null, result: PgResult) => void;
}) => PgQuery;
/** pg's Query class (node-postgres exposes it as Client.Query; the neon driver's Client inherits it). */
const PgQueryImpl = (Client as unknown as { Query: PgQueryClass }).Query;

/** A statement's answer: its rows and its command tag (COMMIT answers ROLLBACK in a failed transaction). */
interface PgResult {
  rows: unknown[];
  command: string;
}

interface Queued {
  config: Statement;
  resolve(result: PgResult): void;
  reject(err: unknown): void;
}

/** node-postgres's error when a query's read timeout (query_timeout) fires. */
const READ_TIMEOUT = "Query read timeout";

/**
 * One connection's statements, gathered per microtask and written to PostgreSQL together.
 *
 * The client-side read timeout (a connection that silently stopped answering) is set on the
 * batch's last query only: PostgreSQL answers a batch in order, so that one is answered last, and
 * each statement is bounded by statement_timeout, so the batch by N × statement_timeout (+1 s).
 * One timer per batch instead of one per statement (timers were ~7 % of workerd's CPU on writes).
 */
class Pipeline {
  private queue: Queued[] = [];

  private readonly client: PoolClient & { connection?: { stream?: { destroy(): void } } };

  constructor(
    client: PoolClient,
    private readonly statementTimeoutMs: number,
  ) {
    this.client = client;
  }

  run(config: Statement): Promise<PgResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ config, resolve, reject });
      if (this.queue.length === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    const connection = (this.client as unknown as { connection: PgConnection }).connection;
    const named = new Set<string>();
    const last = batch.length - 1;
    const queries = batch.map(({ config, resolve, reject }, i) => {
      let { name } = config;
      // A statement not yet prepared on this connection is prepared by the first query that uses
      // it; a second use in the same batch must not send a second Parse, so it runs unnamed.
      if (name !== undefined && connection.parsedStatements[name] === undefined) {
        if (named.has(name)) name = undefined;
        else named.add(name);
      }
      return new PgQueryImpl({
        ...config,
        name,
        callback: (err, result) => {
          if (!err) return resolve(result);
          // The batch's read timeout fired: the connection went silent. node-postgres fails only
          // the query the timeout is set on, so the connection is ended (as pg-pool ends an idle
          // one): every statement still waiting on it fails too, instead of waiting forever.
          if (i === last && err.message === READ_TIMEOUT) this.client.connection?.stream?.destroy();
          reject(err);
        },
      });
    });
    queries[last]!.query_timeout = queries.length * this.statementTimeoutMs + 1000;
    if (queries.length > 1) {
      // The first query, when its turn comes, writes every query of the batch; the others, when
      // theirs comes, only wait for their answers. submit() fails only for malformed configs,
      // which statement() never builds, and then before writing anything.
      const submits = queries.map((q) => q.submit.bind(q));
      queries[0]!.submit = (conn) => {
        for (const submit of submits) {
          const err = submit(conn);
          if (err) return err;
        }
        return undefined;
      };
      for (const q of queries.slice(1)) q.submit = () => undefined;
    }
    for (const q of queries) void this.client.query(q as never);
  }
}

/**
 * A transaction's statements on one connection. BEGIN is not a round trip of its own: it is
 * written together with the transaction's first statement(s); COMMIT may be too (Tx.commit).
 */
function transactionSql(
  client: PoolClient,
  statementTimeoutMs: number,
  observer?: DbObserver,
): Tx & { failure: unknown; statementError: unknown; readonly begun: boolean; readonly committing: Promise<void> | null; end(): void } {
  const pipeline = new Pipeline(client, statementTimeoutMs);
  let begun = false;
  /** Set when transaction() has finished with the connection (it may already serve another request). */
  let ended = false;
  let committing: Promise<void> | null = null;
  const run = async (config: Statement) => {
    try {
      return await pipeline.run(config);
    } catch (err) {
      // No SQLSTATE: the connection failed or a client-side timeout fired. Statements written
      // after this one may still be answered later, so the connection's state is unknown.
      if (sqlState(err) === null && tx.failure === undefined) tx.failure = err;
      else tx.statementError ??= err;
      throw err;
    }
  };
  const tx = {
    failure: undefined as unknown,
    /** The first statement error PostgreSQL answered: the reason a COMMIT became a rollback. */
    statementError: undefined as unknown,
    /** Whether BEGIN went out (with the first statement): before that there is nothing to roll back. */
    get begun() {
      return begun;
    },
    /** The COMMIT once it was sent; the transaction has ended (committed or not) when it settles. */
    get committing() {
      return committing;
    },
    end() {
      ended = true;
    },
    commit(): Promise<void> {
      if (ended && !committing) return Promise.reject(new AppError("internal_error", "COMMIT after its transaction ended"));
      committing ??= begun
        ? timed(observer, async () => {
            // In a transaction a statement failed in, PostgreSQL answers COMMIT with ROLLBACK; the
            // answer is that statement's error (whichever of the two the caller sees first).
            const { command } = await run(statement("COMMIT"));
            if (command !== "COMMIT") throw tx.statementError ?? new AppError("internal_error", "The transaction was rolled back");
          })
        : Promise.resolve();
      return committing;
    },
    query: <T>(text: string, params?: readonly unknown[]) =>
      timed(observer, async () => {
        if (committing || ended) throw new AppError("internal_error", "A statement was issued after its transaction's COMMIT or end");
        if (!begun) {
          begun = true;
          // Its outcome is the first statement's: if BEGIN fails, so does the connection.
          run(statement("BEGIN")).catch(() => {});
        }
        return (await run(statement(text, params))).rows as T[];
      }),
  };
  return tx;
}

export function createDb(config: DatabaseConfig, observer?: DbObserver, maxConnections = config.poolSize): Db {
  configureTransport(config.driver);
  const pool = new Pool({
    connectionString: config.url,
    max: maxConnections,
    connectionTimeoutMillis: config.acquireTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    // Server-side limit per statement; the client-side one, in case the connection silently
    // hangs, is set per batch of statements (Pipeline).
    statement_timeout: config.statementTimeoutMs,
    application_name: "ignition-api",
  } as ConstructorParameters<typeof Pool>[0]);
  // An idle connection that dies (database restart) must not crash the process; the pool drops it.
  pool.on("error", () => {});
  // Connections that did open and have not ended (the pool also counts ones still trying). A
  // connection the server closed may never reach the pool's "remove": its own "end" counts too.
  const open = new Set<object>();
  pool.on("connect", (client: PoolClient) => {
    open.add(client);
    client.once("end", () => open.delete(client));
  });
  pool.on("remove", (client: PoolClient) => open.delete(client));

  return {
    query: <T>(text: string, params?: readonly unknown[]) =>
      timed(observer, async () => {
        let client: PoolClient;
        try {
          client = await pool.connect();
        } catch (err) {
          throw poolFailure(err, open.size);
        }
        // A connection that failed without an SQLSTATE (cut, or timed out) is destroyed; one that
        // answered an SQL error is fine and goes back to the pool.
        let broken: unknown = undefined;
        try {
          return (await new Pipeline(client, config.statementTimeoutMs).run(statement(text, params))).rows as T[];
        } catch (err) {
          if (sqlState(err) === null) broken = err;
          throw err;
        } finally {
          client.release(broken as Error | undefined);
        }
      }),

    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw mapDbError(poolFailure(err, open.size));
      }
      const tx = transactionSql(client, config.statementTimeoutMs, observer);
      let broken: unknown = undefined;
      try {
        const result = await fn(tx);
        await tx.commit();
        return result;
      } catch (err) {
        // A connection in an unknown state is destroyed, not rolled back and reused. A COMMIT
        // already sent ends the transaction whatever happened: wait for it, then the connection is idle.
        if (tx.committing) await tx.committing.catch(() => {});
        if (tx.failure !== undefined) broken = tx.failure;
        else if (tx.begun && !tx.committing) {
          try {
            await new Pipeline(client, config.statementTimeoutMs).run(statement("ROLLBACK"));
          } catch (rollbackErr) {
            broken = rollbackErr; // the connection is unusable: destroy it instead of reusing it
          }
        }
        throw err;
      } finally {
        tx.end(); // a straggler of fn's must not reach the connection's next user
        client.release(broken as Error | undefined);
      }
    },

    stats(): PoolStats {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },

    end: () => pool.end(),
  };
}
