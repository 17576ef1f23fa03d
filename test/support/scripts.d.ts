// Types for the Node tooling in scripts/lib that the tests import.
declare module "*/scripts/lib/api-process.mjs" {
  export function startApiProcess(opts: {
    env: Record<string, string>;
    port: number;
    host?: string;
    runtimeDir?: string;
    readyPath?: string;
    timeoutMs?: number;
    onOutput?: (text: string) => void;
    onSpawn?: (stop: () => Promise<void>) => void;
  }): Promise<{ url: string; port: number; pid: number; workerPids(): number[]; logs(): string; stop(): Promise<void>; exited: Promise<number | null> }>;
  export function rssBytes(pid: number): number;
}
declare module "*/scripts/lib/dev-vars.mjs" {
  export function parseDevVars(text: string): Record<string, string>;
  export function readDevVars(file?: string): Record<string, string>;
  export function configVariableNames(): string[];
}
declare module "*/scripts/lib/postgres.mjs" {
  export class EmbeddedPostgres {
    constructor(opts: { dataDir: string; port: number; password?: string; log?: (t: string) => void; portVariable?: string | null });
    dataDir: string;
    port: number;
    child: import("node:child_process").ChildProcess | null;
    url(database?: string): string;
    check(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
  }
  export function freePort(): Promise<number>;
  export function portAvailable(port: number, host?: string): Promise<boolean>;
}
declare module "*/scripts/lib/runtime.mjs" {
  export const ROOT: string;
  export const RUNTIME: string;
  export const RUNTIME_SOURCES: Array<[string, string]>;
  export function readVersion(): string;
  export function bundleWorker(opts?: { version?: string }): Promise<string>;
  export function assembleRuntime(opts?: { version?: string; dir?: string }): Promise<string>;
}
declare module "*/scripts/lib/migrator.mjs" {
  export class MigrationError extends Error {}
  export function checksum(text: string): string;
  export function readMigrations(dir: string): Array<{ version: number; name: string; file: string; downFile: string; up: string; down: string; checksum: string }>;
  export function createMigration(dir: string, name: string): string[];
  export function forgetStatement(version: number): string;
  export const LOCK_KEY: number;
  export class Migrator {
    constructor(opts: { databaseUrl: string; dir: string; log?: (m: string) => void });
    up(target?: number): Promise<string[]>;
    down(opts?: { steps?: number; to?: number }): Promise<number[]>;
    status(): Promise<Array<{ version: number; file: string; state: string; applied_at: Date | null }>>;
  }
}
declare module "*/scripts/lib/sql-split.mjs" {
  export function splitSql(sql: string): Array<{ text: string; line: number }>;
}
declare module "*/scripts/lib/s3.mjs" {
  export const S3_ACCESS_KEY_ID: string;
  export const S3_SECRET_ACCESS_KEY: string;
  export function startS3(opts: { port: number; directory: string; bucket?: string; address?: string; portVariable?: string | null }): Promise<{
    endpoint: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    close(): Promise<void>;
  }>;
  export function storageEnv(s3: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string }): Record<string, string>;
}
declare module "*/scripts/lib/bench-fixtures.mjs" {
  /** A user with a live session, made directly in the database; the signed session cookie. */
  export function benchSessionCookie(databaseUrl: string, secret: string): Promise<string>;
  /** The session cookie's value the API would sign for session token `sid` with `secret`. */
  export function signSessionToken(sid: string, secret: string): Promise<string>;
}
