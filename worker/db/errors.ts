import { AppError } from "../http/errors";

/** A PostgreSQL server error carries a five-character SQLSTATE; connection failures do not. */
export function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

// Connection exceptions (08), shutdown / cannot connect now (57P0x), too many connections (53300),
// statement timeouts (57014), and a wrong DATABASE_URL (28xxx bad credentials, 3D000 no such
// database) all mean "the database cannot serve this now", not "bad request".
const UNAVAILABLE = /^(08...|57P0.|53300|57014|28...|3D000)$/;

// pg-pool's error when the pool is full and no connection came free within connectionTimeoutMillis
// (a new connection that is slow to open fails with another message).
const POOL_FULL = "timeout exceeded when trying to connect";

/**
 * pg-pool also counts connections still being opened as in use: when none has ever opened (the
 * database does not answer), a full pool is an outage, not a busy database. The pool passes its
 * errors through this, knowing how many of its connections are open.
 */
export function poolFailure(err: unknown, openConnections: number): unknown {
  if (openConnections > 0 || (err as Error | null)?.message !== POOL_FULL) return err;
  return Object.assign(new Error("no connection to the database could be opened in time"), { cause: err });
}

// A deadlock or serialization failure: the request's transaction (or statement) collided with
// another one and was rolled back; sent again, it runs. The client's to retry (409), not a 500.
const COLLIDED = /^(40P01|40001)$/;

/**
 * Turns driver failures into the API's 503, and collisions with a concurrent transaction into 409;
 * SQL errors the caller may handle pass through.
 */
export function mapDbError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const state = sqlState(err);
  if (state === null && (err as Error | null)?.message === POOL_FULL) {
    // Every connection of this process stayed in use (slow statements, lock waits, too small a
    // DATABASE_POOL_SIZE): the database answers, it is busy. Not "unavailable", which sends an
    // operator looking for an outage.
    const mapped = new AppError("database_unavailable", "The database is busy: no connection was free in time; try again", undefined, {
      "Retry-After": "1",
    });
    (mapped as { cause?: unknown }).cause = err;
    return mapped;
  }
  if (state !== null && COLLIDED.test(state)) {
    const mapped = new AppError("conflict", "Another request changed the same data at the same time; this one was rolled back, try again");
    (mapped as { cause?: unknown }).cause = err;
    return mapped;
  }
  if (state !== null && !UNAVAILABLE.test(state)) return err;
  const message = state === "57014" ? "The database did not answer in time" : "The database is unavailable";
  const mapped = new AppError("database_unavailable", message);
  (mapped as { cause?: unknown }).cause = err;
  return mapped;
}

/** host:port/database of a DATABASE_URL, for messages: everything but the credentials. */
export function databaseTarget(databaseUrl: string): string {
  try {
    const u = new URL(databaseUrl);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * Why the database failed, for /health/ready: the driver's own message (connection refused,
 * password authentication failed, database does not exist...), never the password itself.
 */
export function describeDbFailure(err: unknown, databaseUrl: string): string {
  const cause = err instanceof AppError ? ((err as { cause?: unknown }).cause ?? err) : err;
  let text = messageOf(cause) || "the database is unreachable";
  let password = "";
  try {
    password = new URL(databaseUrl).password;
  } catch {
    // not a URL: nothing to hide
  }
  for (const secret of new Set([password, safeDecode(password)])) {
    if (secret.length > 0) text = text.split(secret).join("***");
  }
  return text;
}

/** An Error, or the error event our TCP adapter hands the driver ({error, message}). */
function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "object" && value !== null) {
    const { message, error } = value as { message?: unknown; error?: unknown };
    if (typeof message === "string" && message !== "") return message;
    if (error !== undefined && error !== value) return messageOf(error);
  }
  return typeof value === "string" ? value : "";
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
