// The migration runner: migrations/NNNN_name.sql with NNNN_name.down.sql, tracked in
// schema_migrations (version, name, checksum, applied_at). One PostgreSQL advisory lock for the
// whole run so two runners never interleave; each file in its own transaction; an applied file
// whose checksum changed stops everything before any change is made.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { splitSql } from "./sql-split.mjs";

// Arbitrary constant key for pg_advisory_lock, shared by every runner of this project.
export const LOCK_KEY = 7_284_114_205;
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export class MigrationError extends Error {}

export function checksum(text) {
  return createHash("sha256").update(text).digest("hex");
}

/** Reads and pairs the migration files, refusing gaps in the pairing. */
export function readMigrations(dir) {
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const migrations = [];
  for (const file of names.sort()) {
    if (file.endsWith(".down.sql")) continue;
    const m = FILE_RE.exec(file);
    if (!m) {
      if (file.endsWith(".sql")) throw new MigrationError(`${file}: migration files must be named NNNN_name.sql`);
      continue;
    }
    const downFile = `${m[1]}_${m[2]}.down.sql`;
    if (!names.includes(downFile)) throw new MigrationError(`${file} has no ${downFile}`);
    const up = readFileSync(join(dir, file), "utf8");
    migrations.push({
      version: Number(m[1]),
      name: m[2],
      file,
      downFile,
      up,
      down: readFileSync(join(dir, downFile), "utf8"),
      checksum: checksum(up),
    });
  }
  for (const file of names) {
    if (file.endsWith(".down.sql") && !migrations.some((m) => m.downFile === file)) {
      throw new MigrationError(`${file} has no matching up file`);
    }
  }
  const seen = new Set();
  for (const m of migrations) {
    if (seen.has(m.version)) throw new MigrationError(`two migrations share version ${String(m.version).padStart(4, "0")}`);
    seen.add(m.version);
  }
  return migrations;
}

function oneLine(statement) {
  return statement.replace(/--[^\n]*/g, "").replace(/\s+/g, " ").trim().slice(0, 200);
}

export class Migrator {
  constructor({ databaseUrl, dir, log = console.log }) {
    this.databaseUrl = databaseUrl;
    this.dir = dir;
    this.log = log;
  }

  async withLockedClient(fn) {
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 10000 });
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (err) {
      throw new MigrationError(`cannot connect to the database (DATABASE_URL): ${err.message}`);
    }
    try {
      await client.query("SET lock_timeout = 0");
      // Another run holds the lock: say so instead of waiting in silence, then wait for it.
      const { rows } = await client.query("SELECT pg_try_advisory_lock($1) AS got", [LOCK_KEY]);
      if (!rows[0].got) {
        this.log("waiting for another migration run to finish (it holds the migrations lock)");
        await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
      }
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
      )`);
      return await fn(client);
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => {});
      await client.end().catch(() => {});
    }
  }

  /** Applied migrations in the order they were applied (numbers may be applied out of order). */
  async applied(client) {
    const { rows } = await client.query("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY applied_at, version");
    return rows;
  }

  /**
   * Every applied migration must still exist with the same content. Applied migrations these files
   * do not have are allowed (`ahead`): that is an older image running against a newer schema, as
   * after a rollback of the image without rolling back the schema; a newer image may also have
   * applied a reserved lower number (0006). Only `down` needs their files.
   */
  verify(files, applied, { allowAhead = false } = {}) {
    for (const a of applied) {
      const f = files.find((m) => m.version === a.version);
      const label = `${String(a.version).padStart(4, "0")}_${a.name}.sql`;
      if (!f && allowAhead) continue;
      if (!f) throw new MigrationError(`${label} is applied in the database but its file is missing`);
      if (f.checksum !== a.checksum) {
        throw new MigrationError(`${f.file} was changed after it was applied (checksum mismatch); add a new migration instead`);
      }
    }
  }

  async runFile(client, file, sql, after) {
    await client.query("BEGIN");
    for (const statement of splitSql(sql)) {
      try {
        await client.query(statement.text);
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        const code = err.code ? ` (SQLSTATE ${err.code})` : "";
        throw new MigrationError(`${file} line ${statement.line}: ${oneLine(statement.text)}: ${err.message}${code}`);
      }
    }
    try {
      await after();
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw new MigrationError(`${file}: ${err.message}`);
    }
  }

  async up(target = Infinity) {
    const files = readMigrations(this.dir);
    return this.withLockedClient(async (client) => {
      const applied = await this.applied(client);
      this.verify(files, applied, { allowAhead: true });
      const ahead = applied.filter((a) => !files.some((m) => m.version === a.version));
      if (ahead.length > 0) {
        this.log(`the database is ahead of these files: ${ahead.map((a) => `${String(a.version).padStart(4, "0")}_${a.name}.sql`).join(", ")} applied (left as they are)`);
      }
      const done = new Set(applied.map((a) => a.version));
      const pending = files.filter((m) => !done.has(m.version) && m.version <= target);
      for (const m of pending) {
        await this.runFile(client, m.file, m.up, () =>
          client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [m.version, m.name, m.checksum]),
        );
        this.log(`applied ${m.file}`);
      }
      if (pending.length === 0) this.log("nothing to apply: the schema is up to date");
      return pending.map((m) => m.file);
    });
  }

  /**
   * Rolls back the last `steps` migrations applied, or every migration applied after version `to`
   * (kept; 0 = all). By order of application, not number: a reserved lower number applied after a
   * higher one is undone first.
   */
  async down({ steps = 1, to } = {}) {
    const files = readMigrations(this.dir);
    return this.withLockedClient(async (client) => {
      const applied = await this.applied(client);
      this.verify(files, applied);
      const newestFirst = [...applied].reverse();
      let chosen = newestFirst.slice(0, steps);
      if (to !== undefined) {
        const kept = to === 0 ? applied.length : newestFirst.findIndex((a) => a.version === to);
        if (kept === -1) {
          throw new MigrationError(`${String(to).padStart(4, "0")} is not applied; applied: ${applied.map((a) => String(a.version).padStart(4, "0")).join(", ") || "none"}`);
        }
        chosen = newestFirst.slice(0, kept);
      }
      for (const a of chosen) {
        const m = files.find((f) => f.version === a.version);
        await this.runFile(client, m.downFile, m.down, () => client.query("DELETE FROM schema_migrations WHERE version = $1", [m.version]));
        this.log(`rolled back ${m.file}`);
      }
      if (chosen.length === 0) this.log("nothing to roll back");
      return chosen.map((a) => a.version);
    });
  }

  async status() {
    const files = readMigrations(this.dir);
    return this.withLockedClient(async (client) => {
      const applied = await this.applied(client);
      const rows = files.map((m) => {
        const a = applied.find((x) => x.version === m.version);
        const state = !a ? "pending" : a.checksum === m.checksum ? "applied" : "CHANGED";
        return { version: m.version, file: m.file, state, applied_at: a?.applied_at ?? null };
      });
      for (const a of applied) {
        if (!files.some((m) => m.version === a.version)) {
          rows.push({ version: a.version, file: `${String(a.version).padStart(4, "0")}_${a.name}.sql`, state: "ahead", applied_at: a.applied_at });
        }
      }
      return rows.sort((x, y) => x.version - y.version);
    });
  }
}

/**
 * The last statement of every down file: a down run by hand (psql -f) must also drop the
 * migration's row, or `check` and readiness would call the schema complete.
 */
export function forgetStatement(version) {
  return `-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that \`migrate check\` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = ${version};
  END IF;
END
$$;
`;
}

/** Creates the next NNNN_name.sql and NNNN_name.down.sql pair. */
export function createMigration(dir, name) {
  if (!/^[a-z0-9_]+$/.test(name)) throw new MigrationError("migration names use lowercase letters, digits and _ only");
  const files = readMigrations(dir);
  const next = String((files.at(-1)?.version ?? 0) + 1).padStart(4, "0");
  const up = join(dir, `${next}_${name}.sql`);
  const down = join(dir, `${next}_${name}.down.sql`);
  writeFileSync(up, `-- ${next}_${name}: describe what this migration creates.\n-- Runs inside one transaction; no BEGIN/COMMIT here.\n`);
  writeFileSync(down, `-- Reverts ${next}_${name}.sql exactly (drop in reverse order, IF EXISTS).\n\n${forgetStatement(Number(next))}`);
  return [up, down];
}
