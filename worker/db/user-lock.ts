import type { Sql, Tx } from "./sql";

/**
 * Takes a per-user lock named `scope`, held until the transaction ends: transactions that take
 * the same scope for the same user run one at a time. Taken as a transaction's first statement,
 * it orders everything after it, so those transactions cannot deadlock on the rows they then lock
 * in different orders. Two users whose ids hash alike merely take turns.
 */
async function lockUserScope(tx: Sql, scope: string, userId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", [scope, userId]);
}

/**
 * Takes the user's `scope` lock, then runs `first` (whose first statement goes out together with
 * the lock's: no extra round trip). Inside a transaction; the lock is held until it ends.
 */
export async function withUserLock<T>(tx: Sql, scope: string, userId: string, first: () => Promise<T>): Promise<T> {
  const lock = lockUserScope(tx, scope, userId); // queued before first()'s statement
  const [, result] = await Promise.all([lock, first()]);
  return result;
}

/**
 * withUserLock for a transaction's only write: the lock, `write`'s statement(s) and COMMIT go out
 * together, one round trip. `write` must issue its statements at once and fail only with SQL
 * errors (see Tx.commit); a result it reports as refused (a cap reached) must have written nothing.
 */
export async function lockWriteCommit<T>(tx: Tx, scope: string, userId: string, write: () => Promise<T>): Promise<T> {
  const [result] = await Promise.all([withUserLock(tx, scope, userId, write), tx.commit()]);
  return result;
}
