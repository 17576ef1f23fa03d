import { AppError } from "../http/errors";

/** A PostgreSQL server error carries a five-character SQLSTATE; connection failures do not. */
export function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

// Connection exceptions (08), shutdown / cannot connect now (57P0x), too many connections (53300),
// and statement timeouts (57014) all mean "the database cannot serve this now", not "bad request".
const UNAVAILABLE = /^(08...|57P0.|53300|57014)$/;

/** Turns driver failures into the API's 503; SQL errors the caller may handle pass through. */
export function mapDbError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const state = sqlState(err);
  if (state !== null && !UNAVAILABLE.test(state)) return err;
  const message = state === "57014" ? "The database did not answer in time" : "The database is unavailable";
  const mapped = new AppError("database_unavailable", message);
  (mapped as { cause?: unknown }).cause = err;
  return mapped;
}
