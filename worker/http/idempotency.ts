// Idempotency-Key for state changes that must not happen twice (a purchase). The first request
// with a key claims it; its outcome is stored in the same transaction as the change, so a retry
// with the same key and body gets that first answer again instead of a second change.
//   same key, same body, finished      → the stored response (Idempotent-Replayed: true)
//   same key, different body           → 422 validation_error
//   same key while the first still runs → 409 conflict (Retry-After: 1)
import { base64url } from "jose";
import { sha256 } from "../auth/tokens";
import type { AppContext } from "../context";
import type { Sql } from "../db/sql";
import { userScopeHeld, withUserLock } from "../db/user-lock";
import { AppError, ERROR_STATUS, type ErrorCode, type FieldError } from "./errors";
import { json } from "./response";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY = /^[\x21-\x7e]{1,255}$/;
/** A claim older than this whose request never finished (the process died) may be taken over. */
const STALE_SECONDS = 60;
/** How long a key is remembered: after this, the same key starts a new request. */
const RETENTION = "24 hours";

/** JSON with object keys sorted, so equal bodies hash equally whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

interface StoredKey {
  request_hash: string;
  state: "in_progress" | "completed";
  response_status: number | null;
  response_body: Record<string, unknown> | null;
  stale: boolean;
  /** updated_at as text: the claim's identity, for a takeover. */
  at: string;
}

/**
 * The lock a request holds, per user and key, for as long as its transaction runs: a claim whose
 * lock is free belongs to a request that is no longer running (it failed, and releasing its claim
 * failed too, e.g. with the database), so a retry need not wait for the claim to go stale.
 */
const runningScope = (key: string) => `idempotency\n${key}`;

/** `at` (updated_at as text, exact to the microsecond) identifies this request's claim. */
type Claim = { kind: "claimed"; at: string } | { kind: "stored"; row: StoredKey };

/** Forgets expired keys, a bounded batch at a time, off the request's path. */
function purgeExpired(ctx: AppContext): void {
  const purge = ctx.db().query(
    `DELETE FROM idempotency_keys WHERE ctid IN (
       SELECT ctid FROM idempotency_keys WHERE created_at < now() - interval '${RETENTION}' LIMIT 1000)`,
  );
  ctx.waitUntil(purge.then(() => {}, () => {}));
}

async function claim(sql: Sql, userId: string, key: string, hash: string): Promise<Claim> {
  for (let attempt = 0; attempt < 3; attempt++) {
    // A key older than the retention counts as unused, whether or not the purge has removed it yet.
    const inserted = await sql.query(
      `INSERT INTO idempotency_keys AS k (user_id, key, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, state = 'in_progress',
         response_status = NULL, response_body = NULL, created_at = now()
       WHERE k.created_at < now() - interval '${RETENTION}'
       RETURNING updated_at::text AS at`,
      [userId, key, hash],
    );
    if (inserted.length > 0) return { kind: "claimed", at: (inserted[0] as { at: string }).at };
    const rows = await sql.query<StoredKey>(
      `SELECT request_hash, state, response_status, response_body,
              (state = 'in_progress' AND updated_at < now() - make_interval(secs => $3)) AS stale, updated_at::text AS at
       FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
      [userId, key, STALE_SECONDS],
    );
    if (rows[0]) return { kind: "stored", row: rows[0] };
    // Released between our insert and select (the first request failed): try to claim it again.
  }
  throw new AppError("conflict", "A request with this Idempotency-Key is still in progress", undefined, { "Retry-After": "1" });
}

/**
 * Takes over the claim identified by `at` (a claim whose request is not running, or is stale);
 * returns the new claim's identity, or null if another retry took it first.
 */
async function takeOver(sql: Sql, userId: string, key: string, at: string): Promise<string | null> {
  const rows = await sql.query<{ at: string }>(
    `UPDATE idempotency_keys SET updated_at = clock_timestamp()
     WHERE user_id = $1 AND key = $2 AND state = 'in_progress' AND updated_at = $3::timestamptz
     RETURNING updated_at::text AS at`,
    [userId, key, at],
  );
  return rows[0]?.at ?? null;
}

/**
 * Records the outcome, but only while this request still holds the claim: a request slow enough
 * for its claim to be taken over must not also commit its change (the other one runs it).
 */
async function store(sql: Sql, userId: string, key: string, at: string, status: number, body: unknown): Promise<void> {
  const rows = await sql.query(
    `UPDATE idempotency_keys SET state = 'completed', response_status = $3, response_body = $4
     WHERE user_id = $1 AND key = $2 AND state = 'in_progress' AND updated_at = $5::timestamptz RETURNING 1`,
    [userId, key, status, JSON.stringify(body), at],
  );
  if (rows.length === 0) {
    throw new AppError("conflict", "Another request with this Idempotency-Key took over", undefined, { "Retry-After": "1" });
  }
}

function replay(row: StoredKey): Response {
  const headers = { "Idempotent-Replayed": "true" };
  const body = row.response_body ?? {};
  if (row.response_status === 200) return json(body, 200, headers);
  const code = (body.error as string) in ERROR_STATUS ? (body.error as ErrorCode) : "internal_error";
  throw new AppError(code, String(body.message ?? ""), body.details as FieldError[] | undefined, headers);
}

/** What is wrong with the request's Idempotency-Key header, if it has a malformed one. */
function idempotencyKeyProblem(request: Request): FieldError | null {
  const key = request.headers.get(IDEMPOTENCY_HEADER);
  return key === null || KEY.test(key) ? null : { field: IDEMPOTENCY_HEADER, message: "Must be 1 to 255 visible ASCII characters" };
}

/**
 * Validates a body for an idempotent route, listing a malformed Idempotency-Key among the body's
 * bad fields, so that one 422 names everything to fix.
 */
export async function parseIdempotentBody<T>(request: Request, parse: () => Promise<T>): Promise<T> {
  const keyProblem = idempotencyKeyProblem(request);
  let input: T;
  try {
    input = await parse();
  } catch (err) {
    if (keyProblem && err instanceof AppError && err.code === "validation_error") {
      throw new AppError("validation_error", err.message, [...(err.details ?? []), keyProblem], err.headers);
    }
    throw err;
  }
  if (keyProblem) throw new AppError("validation_error", "Invalid Idempotency-Key header", [keyProblem]);
  return input;
}

/** Outcomes that depend only on the request and the data, worth replaying (not 409/429/5xx). */
const REPLAYABLE = new Set([400, 403, 404, 422]);

/**
 * Runs `run` in a transaction and answers 200 with its result, honouring an Idempotency-Key
 * header when the request has one. `input` is the validated body that identifies the request.
 */
export async function idempotent(
  ctx: AppContext,
  request: Request,
  userId: string,
  scope: string,
  input: unknown,
  run: (tx: Sql) => Promise<unknown>,
): Promise<Response> {
  const db = ctx.db();
  const key = request.headers.get(IDEMPOTENCY_HEADER);
  if (key === null) return json(await db.transaction(run));
  const keyProblem = idempotencyKeyProblem(request);
  if (keyProblem) throw new AppError("validation_error", "Invalid Idempotency-Key header", [keyProblem]);
  if (Math.random() < 0.01) purgeExpired(ctx);
  const hash = base64url.encode(await sha256(`${scope}\n${canonical(input)}`));
  const claimed = await claim(db, userId, key, hash);
  let at: string;
  if (claimed.kind === "claimed") at = claimed.at;
  else {
    const { row } = claimed;
    if (row.request_hash !== hash) {
      throw new AppError("validation_error", "This Idempotency-Key was already used with a different request", [
        { field: IDEMPOTENCY_HEADER, message: "Already used for a different request body; use a new key" },
      ]);
    }
    if (row.state === "completed") return replay(row);
    // Between its claim and its transaction's first statement a live request holds no lock yet:
    // a retry that takes over then is harmless, since only the current claim's holder can store
    // (the other's transaction is rolled back: one change in all).
    const gone = row.stale || !(await userScopeHeld(db, runningScope(key), userId));
    const taken = gone ? await takeOver(db, userId, key, row.at) : null;
    if (taken === null) {
      throw new AppError("conflict", "A request with this Idempotency-Key is still in progress", undefined, { "Retry-After": "1" });
    }
    at = taken;
  }
  try {
    const body = await db.transaction(async (tx) => {
      const result = await withUserLock(tx, runningScope(key), userId, () => run(tx));
      await store(tx, userId, key, at, 200, result);
      return result;
    });
    return json(body);
  } catch (err) {
    const outcome = err instanceof AppError && REPLAYABLE.has(err.status)
      ? store(db, userId, key, at, err.status, { error: err.code, message: err.message, details: err.details })
      : db.query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND state = 'in_progress' AND updated_at = $3::timestamptz", [userId, key, at]);
    await outcome.catch(() => {}); // the original failure is what the client needs to see
    throw err;
  }
}
