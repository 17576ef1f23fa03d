/** What a repository function needs: run one statement. A transaction handle is also a Sql. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** A transaction's statements. */
export interface Tx extends Sql {
  /**
   * Sends COMMIT now, together with the statements issued before it in the same synchronous run
   * (one round trip for the transaction's last writes and its commit). Only for writes whose every
   * failure is an SQL error: PostgreSQL then turns the COMMIT into a rollback, and this rejects.
   * A check in JavaScript on their results would come too late to undo them. No statement may
   * follow; the transaction does not commit again when its function returns.
   */
  commit(): Promise<void>;
}

export interface Db extends Sql {
  /** Runs fn inside BEGIN/COMMIT on one connection; any error rolls back and is rethrown. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  stats(): PoolStats;
  end(): Promise<void>;
}
