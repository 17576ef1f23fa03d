import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMigration, forgetStatement, LOCK_KEY, Migrator, readMigrations } from "../../scripts/lib/migrator.mjs";
import { splitSql } from "../../scripts/lib/sql-split.mjs";
import { ROOT } from "../../scripts/lib/runtime.mjs";
import { connectClient, createScratchDatabase, dropDatabase, schemaSnapshot, withClient } from "../support/database";
import { adminDatabaseUrl } from "../support/env";

const MIGRATIONS = join(ROOT, "migrations");
const quiet = () => {};

describe("migrations", () => {
  let url: string;
  const scratch: string[] = [];
  beforeEach(async () => {
    url = await createScratchDatabase(adminDatabaseUrl());
    scratch.push(url);
  });
  afterAll(async () => {
    for (const u of scratch) await dropDatabase(adminDatabaseUrl(), u);
  });

  it("up → down to zero → up leaves an identical schema, for every migration in the repo", async () => {
    const files = readMigrations(MIGRATIONS);
    expect(files.length).toBeGreaterThan(0);
    const m = new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: quiet });
    expect(await m.up()).toEqual(files.map((f) => f.file));
    const first = await schemaSnapshot(url);

    expect(await m.down({ to: 0 })).toEqual(files.map((f) => f.version).reverse());
    const empty = await schemaSnapshot(url);
    // Only the runner's own table is left.
    expect(empty.split("\n").every((line) => line.includes("schema_migrations"))).toBe(true);

    await m.up();
    expect(await schemaSnapshot(url)).toBe(first);
    expect((await m.status()).every((r) => r.state === "applied")).toBe(true);
  });

  it("steps down one at a time, and each down undoes exactly its own up", async () => {
    const files = readMigrations(MIGRATIONS);
    const m = new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: quiet });
    const snapshots = [await schemaSnapshot(url)];
    for (const f of files) {
      await m.up(f.version);
      snapshots.push(await schemaSnapshot(url));
    }
    for (let i = files.length; i > 0; i--) {
      await m.down();
      const snap = await schemaSnapshot(url);
      const strip = (s: string) => s.split("\n").filter((l) => !l.includes("schema_migrations")).join("\n");
      expect(strip(snap)).toBe(strip(snapshots[i - 1]!));
    }
  });

  it("a down file run by hand (psql -f, as the guide's rollback does) also marks its migration pending", async () => {
    const files = readMigrations(MIGRATIONS);
    const m = new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: quiet });
    await m.up();
    // What psql does: each statement on its own, autocommit, no runner involved.
    const byHand = (sql: string) => withClient(url, async (c) => {
      for (const s of splitSql(sql)) await c.query(s.text);
    });
    const cli = join(ROOT, "scripts", "migrate.mjs");
    for (let i = files.length - 1; i >= 0; i--) {
      const f = files[i]!;
      expect(f.down.endsWith(forgetStatement(f.version)), f.downFile).toBe(true);
      await byHand(f.down);
      const states = (await m.status()).map((r) => r.state);
      expect(states, f.downFile).toEqual(files.map((_, j) => (j < i ? "applied" : "pending")));
      if (f.version === 7) {
        const check = spawnSync(process.execPath, [cli, "check"], { env: { ...process.env, DATABASE_URL: url }, encoding: "utf8" });
        expect(check.status).toBe(3);
        expect(check.stdout).toContain(`pending: ${files.slice(i).map((x) => x.file).join(", ")}`);
      }
    }
    // The runner recreates everything, and still rolls back cleanly (its own DELETE finds nothing).
    expect(await m.up()).toEqual(files.map((f) => f.file));
    expect(await m.down({ to: 0 })).toEqual(files.map((f) => f.version).reverse());
    expect((await m.status()).every((r) => r.state === "pending")).toBe(true);
  });

  it("a down file run by hand where the runner never ran (no schema_migrations) still works", async () => {
    const [first] = readMigrations(MIGRATIONS);
    await withClient(url, async (c) => {
      for (const s of [...splitSql(first!.up), ...splitSql(first!.down)]) await c.query(s.text);
      expect((await c.query("SELECT to_regclass('schema_migrations') AS t")).rows[0].t).toBeNull();
    });
  });

  describe("with a scratch migrations folder", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "ignition-migrations-"));
      writeFileSync(join(dir, "0001_things.sql"), "CREATE TABLE things (id INT PRIMARY KEY);\n");
      writeFileSync(join(dir, "0001_things.down.sql"), "DROP TABLE IF EXISTS things;\n");
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("refuses to run when an applied file changed", async () => {
      const m = new Migrator({ databaseUrl: url, dir, log: quiet });
      await m.up();
      appendFileSync(join(dir, "0001_things.sql"), "-- edited\n");
      await expect(m.up()).rejects.toThrow(/0001_things\.sql was changed after it was applied/);
      expect((await m.status())[0]!.state).toBe("CHANGED");
    });

    it("names the file, line and statement that failed, and leaves nothing of that file behind", async () => {
      writeFileSync(
        join(dir, "0002_broken.sql"),
        "CREATE TABLE half_done (id INT);\n\n-- the next statement is wrong\nALTER TABLE missing_table ADD COLUMN x INT;\n",
      );
      writeFileSync(join(dir, "0002_broken.down.sql"), "DROP TABLE IF EXISTS half_done;\n");
      const m = new Migrator({ databaseUrl: url, dir, log: quiet });
      const err = await m.up().then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(/^0002_broken\.sql line 4: ALTER TABLE missing_table ADD COLUMN x INT: relation "missing_table" does not exist/);
      const tables = await withClient(url, async (c) => (await c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.tablename));
      expect(tables).toEqual(["schema_migrations", "things"]);
      expect((await m.status()).map((r) => r.state)).toEqual(["applied", "pending"]);
    });

    it("lets two runners race without applying anything twice (advisory lock)", async () => {
      writeFileSync(join(dir, "0002_slow.sql"), "SELECT pg_sleep(0.3);\nCREATE TABLE slow (id INT);\n");
      writeFileSync(join(dir, "0002_slow.down.sql"), "DROP TABLE IF EXISTS slow;\n");
      const a = new Migrator({ databaseUrl: url, dir, log: quiet });
      const b = new Migrator({ databaseUrl: url, dir, log: quiet });
      const [ra, rb] = await Promise.all([a.up(), b.up()]);
      expect([...ra, ...rb].sort()).toEqual(["0001_things.sql", "0002_slow.sql"]);
      const count = await withClient(url, async (c) => (await c.query("SELECT count(*)::int AS n FROM schema_migrations")).rows[0].n);
      expect(count).toBe(2);
    });

    it("lets an older set of files run up against a newer schema, but not down through it", async () => {
      writeFileSync(join(dir, "0002_newer.sql"), "CREATE TABLE newer (id INT);\n");
      writeFileSync(join(dir, "0002_newer.down.sql"), "DROP TABLE IF EXISTS newer;\n");
      const logs: string[] = [];
      const m = new Migrator({ databaseUrl: url, dir, log: (l) => logs.push(l) });
      await m.up();
      // What an older image sees after a rollback that kept the schema.
      rmSync(join(dir, "0002_newer.sql"));
      rmSync(join(dir, "0002_newer.down.sql"));
      expect(await m.up()).toEqual([]);
      expect(logs.join("\n")).toMatch(/ahead of these files: 0002_newer\.sql/);
      expect((await m.status()).map((r) => r.state)).toEqual(["applied", "ahead"]);
      await expect(m.down({ to: 0 })).rejects.toThrow(/0002_newer\.sql is applied in the database but its file is missing/);
    });

    it("handles a lower number applied after a higher one (a reserved number landing later)", async () => {
      const add = (name: string) => {
        writeFileSync(join(dir, `${name}.sql`), `CREATE TABLE t${name.slice(0, 4)} (id INT);\n`);
        writeFileSync(join(dir, `${name}.down.sql`), `DROP TABLE IF EXISTS t${name.slice(0, 4)};\n`);
      };
      add("0003_later");
      const m = new Migrator({ databaseUrl: url, dir, log: quiet });
      await m.up();
      add("0002_reserved");
      expect(await m.up()).toEqual(["0002_reserved.sql"]);

      // An older image (no 0002 file) still migrates up and reports it as ahead...
      const older = mkdtempSync(join(tmpdir(), "ignition-migrations-older-"));
      for (const f of ["0001_things", "0003_later"]) for (const ext of [".sql", ".down.sql"]) copyFileSync(join(dir, f + ext), join(older, f + ext));
      const old = new Migrator({ databaseUrl: url, dir: older, log: quiet });
      expect(await old.up()).toEqual([]);
      expect((await old.status()).map((r) => `${r.version}:${r.state}`)).toEqual(["1:applied", "2:ahead", "3:applied"]);
      rmSync(older, { recursive: true, force: true });

      // ...and rolling back to 0003, the older image's newest, undoes 0002, applied after it.
      expect(await m.down({ to: 3 })).toEqual([2]);
      expect(await m.down()).toEqual([3]);
      await expect(m.down({ to: 7 })).rejects.toThrow(/0007 is not applied; applied: 0001/);
    });

    it("refuses an up file without its down file", () => {
      writeFileSync(join(dir, "0002_lonely.sql"), "SELECT 1;\n");
      expect(() => readMigrations(dir)).toThrow(/0002_lonely\.sql has no 0002_lonely\.down\.sql/);
    });

    it("create NAME adds the next numbered pair", () => {
      const made = createMigration(dir, "add_widgets");
      expect(made.map((p) => p.slice(dir.length + 1))).toEqual(["0002_add_widgets.sql", "0002_add_widgets.down.sql"]);
      expect(readdirSync(dir).sort()).toEqual(["0001_things.down.sql", "0001_things.sql", "0002_add_widgets.down.sql", "0002_add_widgets.sql"]);
      expect(readFileSync(join(dir, "0002_add_widgets.down.sql"), "utf8")).toContain("DELETE FROM schema_migrations WHERE version = 2;");
      expect(() => createMigration(dir, "Bad Name")).toThrow(/lowercase/);
    });
  });

  it("the npm run migrate CLI reports status and fails clearly on a bad DATABASE_URL", () => {
    const cli = join(ROOT, "scripts", "migrate.mjs");
    const ok = spawnSync(process.execPath, [cli, "up"], { env: { ...process.env, DATABASE_URL: url }, encoding: "utf8" });
    expect(ok.status).toBe(0);
    const status = spawnSync(process.execPath, [cli, "status"], { env: { ...process.env, DATABASE_URL: url }, encoding: "utf8" });
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^applied\s+0001_auth_substrate\.sql/m);

    const badUrl = new URL(url);
    badUrl.password = "wrong-password";
    const bad = spawnSync(process.execPath, [cli, "status"], { env: { ...process.env, DATABASE_URL: badUrl.toString() }, encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^migrate: cannot connect to the database \(DATABASE_URL\): .*password/m);
    expect(bad.stderr).not.toContain("wrong-password");
    const notUrl = spawnSync(process.execPath, [cli, "status"], { env: { ...process.env, DATABASE_URL: "not a url:secret" }, encoding: "utf8" });
    expect(notUrl.status).toBe(1);
    expect(notUrl.stderr).toMatch(/^migrate: DATABASE_URL is unusable: it is not a URL/m);
    expect(notUrl.stderr).not.toContain("secret");
  });

  it("the CLI refuses a malformed command line (exit 2) before touching the database", async () => {
    const cli = join(ROOT, "scripts", "migrate.mjs");
    await new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: quiet }).up();
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, DATABASE_URL: url }, encoding: "utf8" });
    for (const [args, message] of [
      [["down", "--to", ""], /--to needs a migration number/], // an empty $TO must not mean "everything"
      [["down", "--to"], /--to needs a migration number/],
      [["down", "abc"], /down N needs a positive number/],
      [["down", "0"], /down N needs a positive number/],
      [["down", "2", "--to", "7"], /not both/],
      [["up", "1"], /unexpected argument for up: 1/],
      [["stauts"], /unknown command "stauts"/],
      [[], /which command/],
    ] as const) {
      const r = run(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
    // Nothing was rolled back.
    expect((await new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: quiet }).status()).every((m) => m.state === "applied")).toBe(true);
  });

  it("a second run says it waits for the first one's lock", async () => {
    const holder = await connectClient(url);
    try {
      await holder.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
      const logs: string[] = [];
      const waiting = new Migrator({ databaseUrl: url, dir: MIGRATIONS, log: (l) => logs.push(l) }).status();
      for (let i = 0; i < 100 && logs.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(logs).toEqual(["waiting for another migration run to finish (it holds the migrations lock)"]);
      await holder.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]);
      expect((await waiting).length).toBeGreaterThan(0);
    } finally {
      await holder.end();
    }
  });

  it("migrate check exits 3 listing pending migrations, 0 once they are applied", () => {
    const cli = join(ROOT, "scripts", "migrate.mjs");
    const run = (cmd: string) => spawnSync(process.execPath, [cli, cmd], { env: { ...process.env, DATABASE_URL: url }, encoding: "utf8" });
    const pending = run("check");
    expect(pending.status).toBe(3);
    expect(pending.stdout).toContain(`pending: ${readMigrations(MIGRATIONS).map((f) => f.file).join(", ")}`);
    expect(run("up").status).toBe(0);
    const clean = run("check");
    expect(clean.status).toBe(0);
    expect(clean.stdout).toMatch(/up to date/);
  });
});
