import { describe, expect, it } from "vitest";
import { databaseTarget, describeDbFailure, mapDbError } from "../../worker/db/errors";
import { schemaProblem } from "../../worker/db/schema-version";
import { AppError } from "../../worker/http/errors";

const expected = [
  { version: 1, file: "0001_auth_substrate.sql" },
  { version: 2, file: "0002_gamification.sql" },
  { version: 3, file: "0003_focus.sql" },
];

describe("schemaProblem", () => {
  it("names every migration the database lacks", () => {
    expect(schemaProblem([1], expected)).toBe(
      "database schema is at 0001; this build needs 0003: missing 0002_gamification.sql, 0003_focus.sql (run the migrations: migrate up)",
    );
    expect(schemaProblem([], expected)).toMatch(/^database schema is at 0000; this build needs 0003: missing 0001_auth_substrate\.sql, 0002/);
  });

  it("accepts the expected schema and a newer one, and any schema when the build expects none", () => {
    expect(schemaProblem([1, 2, 3], expected)).toBeNull();
    expect(schemaProblem([1, 2, 3, 7], expected)).toBeNull();
    expect(schemaProblem([], [])).toBeNull();
  });

  it("finds a gap below the newest applied migration", () => {
    expect(schemaProblem([1, 3, 15], expected)).toBe(
      "database schema is at 0015; this build needs 0003: missing 0002_gamification.sql (run the migrations: migrate up)",
    );
  });
});

describe("database failure messages", () => {
  const url = "postgres://app:s%3Acr%40t@db.internal:6543/ignition";

  it("keep the driver's reason and hide the password, encoded or not", () => {
    const err = new Error('password authentication failed for user "app" (s:cr@t, s%3Acr%40t)');
    expect(describeDbFailure(err, url)).toBe('password authentication failed for user "app" (***, ***)');
  });

  it("read the cause of a mapped error and the error events of the TCP adapter", () => {
    const event = { error: new Error("connection refused"), message: "" };
    const mapped = mapDbError(event) as AppError;
    expect(mapped.code).toBe("database_unavailable");
    expect(describeDbFailure(mapped, url)).toBe("connection refused");
  });

  it("name host, port and database but no credentials", () => {
    expect(databaseTarget(url)).toBe("db.internal:6543/ignition");
    expect(databaseTarget("postgres://u@h/db")).toBe("h:5432/db");
  });

  it("treat bad credentials and a missing database as the database being unavailable (503)", () => {
    for (const code of ["28P01", "28000", "3D000"]) {
      expect((mapDbError(Object.assign(new Error("x"), { code })) as AppError).code).toBe("database_unavailable");
    }
  });
});
