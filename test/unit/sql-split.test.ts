import { describe, expect, it } from "vitest";
import { splitSql } from "../../scripts/lib/sql-split.mjs";

describe("splitSql", () => {
  it("splits on semicolons and reports the line each statement starts on", () => {
    expect(splitSql("CREATE TABLE a (id int);\n\n-- note\nCREATE TABLE b (id int);\n")).toEqual([
      { text: "CREATE TABLE a (id int)", line: 1 },
      { text: "CREATE TABLE b (id int)", line: 4 },
    ]);
  });

  it("keeps semicolons inside strings, identifiers, comments and dollar-quoted bodies", () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', 'it''s;');",
      'CREATE TABLE "we;ird" (id int);',
      "/* a; /* nested; */ still comment; */ SELECT 1;",
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.x = 1; RETURN NEW; END; $$;",
      "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;",
      "SELECT $1::text;",
    ].join("\n");
    const texts = splitSql(sql).map((s) => s.text);
    expect(texts).toHaveLength(6);
    expect(texts[0]).toBe("INSERT INTO t VALUES ('a;b', 'it''s;')");
    expect(texts[2]).toBe("SELECT 1");
    expect(texts[3]).toContain("RETURN NEW; END; $$");
    expect(texts[4]).toContain("$body$ SELECT 1; $body$");
    expect(texts[5]).toBe("SELECT $1::text");
  });

  it("keeps a DO block (the end of every down file) as one statement", () => {
    const sql = "DROP TABLE IF EXISTS t;\nDO $$\nBEGIN\n  IF to_regclass('x') IS NOT NULL THEN\n    DELETE FROM x WHERE version = 7;\n  END IF;\nEND\n$$;\n";
    expect(splitSql(sql)).toEqual([
      { text: "DROP TABLE IF EXISTS t", line: 1 },
      { text: "DO $$\nBEGIN\n  IF to_regclass('x') IS NOT NULL THEN\n    DELETE FROM x WHERE version = 7;\n  END IF;\nEND\n$$", line: 2 },
    ]);
  });

  it("drops empty and comment-only pieces", () => {
    expect(splitSql("-- only a comment\n;\n  ;")).toEqual([]);
  });

  it("splits every migration of the repo into statements that start with a keyword", async () => {
    const { readMigrations } = await import("../../scripts/lib/migrator.mjs");
    const { ROOT } = await import("../../scripts/lib/runtime.mjs");
    for (const m of readMigrations(`${ROOT}/migrations`)) {
      for (const s of [...splitSql(m.up), ...splitSql(m.down)]) {
        expect(s.text).toMatch(/^[A-Z]+/);
      }
    }
  });
});
