// Values the global setup provides to every test file.
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    apiUrl: string;
    /** The database the shared API uses (migrated). */
    databaseUrl: string;
    /** A superuser URL on the same server, for creating scratch databases. */
    adminDatabaseUrl: string;
    /** Environment the shared API runs with (development config). */
    apiEnv: Record<string, string>;
    version: string;
    /** The S3 server the shared API uses (STORAGE_* values) and the folder it keeps objects in. */
    storage: Record<string, string> & { directory: string };
  }
}

export const apiUrl = () => inject("apiUrl");
export const databaseUrl = () => inject("databaseUrl");
export const adminDatabaseUrl = () => inject("adminDatabaseUrl");
export const apiEnv = () => inject("apiEnv");
export const version = () => inject("version");
export const storage = () => inject("storage");
