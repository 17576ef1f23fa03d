/** What a repository function needs: run one statement. A transaction handle is also a Sql. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Db extends Sql {
  /** Runs fn inside BEGIN/COMMIT on one connection; any error rolls back and is rethrown. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  stats(): PoolStats;
  end(): Promise<void>;
}
