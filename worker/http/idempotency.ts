// Idempotency-Key for state changes that must not happen twice (a purchase). A request with a key
// runs in one transaction that holds the key's lock from its first statement and stores its answer
// — success or refusal — with its change, so a retry with the same key and body gets that first
// answer again instead of a second change.
//   same key, same body, finished      → the stored response (Idempotent-Replayed: true)
//   same key, different body           → 422 validation_error
//   same key while the first still runs → 409 conflict (Retry-After: 1); once it has answered,
//                                         every retry gets that answer, however many at once
import { base64url } from "jose";
import { sha256 } from "../auth/tokens";
import type { AppContext } from "../context";
import type { Sql, Tx } from "../db/sql";
import { AppError, ERROR_STATUS, type ErrorCode, type FieldError } from "./errors";
import { json } from "./response";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY = /^[\x21-\x7e]{1,255}$/;
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
  /** 'in_progress' only in rows an earlier version left (it claimed keys before its transaction). */
  state: "in_progress" | "completed";
  response_status: number | null;
  response_body: Record<string, unknown> | null;
  /** Older than the retention: the key counts as unused, whether or not the purge removed it yet. */
  expired: boolean;
}

/** Forgets expired keys, a bounded batch at a time, off the request's path. */
function purgeExpired(ctx: AppContext): void {
  const purge = ctx.db().query(
    `DELETE FROM idempotency_keys WHERE ctid IN (
       SELECT ctid FROM idempotency_keys WHERE created_at < now() - interval '${RETENTION}' LIMIT 1000)`,
  );
  ctx.waitUntil(purge.then(() => {}, () => {}));
}

/**
 * The key's lock, per user and key, held until the transaction ends (the same lock an earlier
 * version held while running a request). Tried, not waited for: taken means another request with
 * the key is running now.
 */
function tryKeyLock(tx: Sql, userId: string, key: string): Promise<Array<{ got: boolean }>> {
  return tx.query("SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS got", [`idempotency\n${key}`, userId]);
}

/** What the key has stored. A statement of its own after the lock's: it sees every request that held the lock. */
function readKey(tx: Sql, userId: string, key: string): Promise<StoredKey[]> {
  return tx.query<StoredKey>(
    `SELECT request_hash, state, response_status, response_body, created_at < now() - interval '${RETENTION}' AS expired
     FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
    [userId, key],
  );
}

/**
 * Stores the answer, replacing what the key held (nothing, an expired key, or an earlier
 * version's abandoned claim): under the key's lock nothing else writes it. Unconditional, so it
 * can go out with COMMIT: it fails only with an SQL error, which rolls the transaction back. (Not
 * async: a body that cannot be serialised throws here, before the caller sends COMMIT.)
 */
function storeAnswer(tx: Sql, userId: string, key: string, hash: string, status: number, body: unknown): Promise<unknown> {
  return tx.query(
    `INSERT INTO idempotency_keys AS k (user_id, key, request_hash, state, response_status, response_body)
     VALUES ($1, $2, $3, 'completed', $4, $5)
     ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, state = 'completed',
       response_status = EXCLUDED.response_status, response_body = EXCLUDED.response_body, created_at = now()`,
    [userId, key, hash, status, JSON.stringify(body)],
  );
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

/** Thrown inside the transaction when the key already has its answer (replayed after the rollback). */
const KEY_ANSWERED = Symbol("key answered");

const inProgress = () =>
  new AppError("conflict", "A request with this Idempotency-Key is still in progress", undefined, { "Retry-After": "1" });

/**
 * Runs `run` in a transaction and answers 200 with its result, honouring an Idempotency-Key
 * header when the request has one. `input` is the validated body that identifies the request.
 *
 * With a key, the key's lock and stored answer go out with BEGIN and a savepoint (and `run`'s
 * first statement when `firstStatementReads` says it is a plain read); `run`'s statements wait
 * until the key turned out free; the answer goes out with COMMIT. A refusal rolls back to the
 * savepoint (the change's partial writes) and is stored the same way.
 */
export async function idempotent(
  ctx: AppContext,
  request: Request,
  userId: string,
  scope: string,
  input: unknown,
  run: (tx: Sql) => Promise<unknown>,
  options: { firstStatementReads?: boolean } = {},
): Promise<Response> {
  const db = ctx.db();
  const key = request.headers.get(IDEMPOTENCY_HEADER);
  if (key === null) return json(await db.transaction(run));
  const keyProblem = idempotencyKeyProblem(request);
  if (keyProblem) throw new AppError("validation_error", "Invalid Idempotency-Key header", [keyProblem]);
  if (Math.random() < 0.01) purgeExpired(ctx);
  const hash = base64url.encode(await sha256(`${scope}\n${canonical(input)}`));

  let answered: StoredKey | null = null;
  const body = await db.transaction(async (tx: Tx): Promise<unknown> => {
    const locked = tryKeyLock(tx, userId, key);
    const stored = readKey(tx, userId, key);
    const savepoint = tx.query("SAVEPOINT idempotent_request");
    // With firstStatementReads (run's first statement is a plain read: no lock, no write, so it
    // cannot wait on anyone) that statement joins this round trip; otherwise, and for every later
    // one, run's statements wait for the key's verdict.
    let release!: () => void;
    let refuse!: (err: unknown) => void;
    const verdict = new Promise<void>((resolve, reject) => {
      release = resolve;
      refuse = reject;
    });
    verdict.catch(() => {});
    let first = options.firstStatementReads === true;
    const gated: Sql = {
      query: (text, params) => {
        if (!first) return verdict.then(() => tx.query(text, params));
        first = false; // the first statement only
        return tx.query(text, params);
      },
    };
    let result: Promise<unknown>;
    try {
      result = run(gated);
    } catch (err) {
      result = Promise.reject(err);
    } finally {
      first = false;
    }
    result.catch(() => {}); // its failure is handled below, or does not matter (the key was not free)

    try {
      const [[lock], [row]] = await Promise.all([locked, stored, savepoint]);
      // A stored answer is final (only the lock's holder writes a key, and only one that has none
      // or an expired one): it decides whether or not another replay holds the lock right now.
      if (row && !row.expired) {
        if (row.request_hash !== hash) {
          throw new AppError("validation_error", "This Idempotency-Key was already used with a different request", [
            { field: IDEMPOTENCY_HEADER, message: "Already used for a different request body; use a new key" },
          ]);
        }
        if (row.state === "completed") {
          answered = row;
          throw KEY_ANSWERED; // rolls back whatever run's first statement did
        }
        // An in-progress row whose lock is free was left by an earlier version's request that no
        // longer runs: the key is free (and keeps its request).
      }
      if (!lock!.got) throw inProgress();
    } catch (err) {
      refuse(err);
      throw err;
    }
    release();

    let body: unknown;
    try {
      body = await result;
    } catch (err) {
      if (!(err instanceof AppError && REPLAYABLE.has(err.status))) throw err;
      // A refusal: undo what the change wrote before it, and store the refusal with COMMIT. Should
      // that fail, nothing is stored (a retry runs again); the refusal is still the answer.
      const refusal = { error: err.code, message: err.message, details: err.details };
      await Promise.all([
        tx.query("ROLLBACK TO SAVEPOINT idempotent_request"),
        storeAnswer(tx, userId, key, hash, err.status, refusal),
        tx.commit(),
      ]).catch(() => {});
      throw err;
    }
    await Promise.all([storeAnswer(tx, userId, key, hash, 200, body), tx.commit()]);
    return body;
  }).catch((err) => {
    if (err === KEY_ANSWERED && answered) return KEY_ANSWERED;
    throw err;
  });
  return body === KEY_ANSWERED ? replay(answered!) : json(body);
}
