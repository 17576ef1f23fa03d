import { describe, expect, it } from "vitest";
import { mapDbError } from "../../worker/db/errors";
import { AppError } from "../../worker/http/errors";

describe("mapDbError", () => {
  it("turns connection failures and timeouts into 503 database_unavailable", () => {
    for (const err of [new Error("Connection terminated unexpectedly"), Object.assign(new Error("x"), { code: "57P01" }), Object.assign(new Error("x"), { code: "08006" }), Object.assign(new Error("too many"), { code: "53300" })]) {
      const mapped = mapDbError(err);
      expect(mapped).toBeInstanceOf(AppError);
      expect((mapped as AppError).code).toBe("database_unavailable");
      expect((mapped as AppError).status).toBe(503);
    }
    expect((mapDbError(Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" })) as AppError).message).toMatch(/in time/);
  });

  it("says busy, not unavailable, when the pool had no free connection in time (503 with Retry-After)", () => {
    const mapped = mapDbError(new Error("timeout exceeded when trying to connect")) as AppError;
    expect([mapped.code, mapped.status, mapped.headers]).toEqual(["database_unavailable", 503, { "Retry-After": "1" }]);
    expect(mapped.message).toMatch(/busy/);
  });

  it("turns a deadlock or serialization failure into 409 conflict (the client may send it again)", () => {
    for (const code of ["40P01", "40001"]) {
      const mapped = mapDbError(Object.assign(new Error("deadlock detected"), { code })) as AppError;
      expect(mapped).toBeInstanceOf(AppError);
      expect([mapped.code, mapped.status]).toEqual(["conflict", 409]);
      expect(mapped.message).toMatch(/try again/);
    }
  });

  it("passes SQL errors through for the caller to handle", () => {
    const unique = Object.assign(new Error("duplicate key"), { code: "23505" });
    expect(mapDbError(unique)).toBe(unique);
    const syntax = Object.assign(new Error("syntax"), { code: "42601" });
    expect(mapDbError(syntax)).toBe(syntax);
  });
});
