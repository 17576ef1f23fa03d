// scripts/lib/dev-vars.mjs: how `npm run dev` reads .dev.vars (as wrangler does, to decide which
// services to start and which database to migrate), and which settings the worker reads.
import { describe, expect, it } from "vitest";
import { configVariableNames, parseDevVars } from "../../scripts/lib/dev-vars.mjs";

describe(".dev.vars", () => {
  it("reads dotenv syntax as wrangler does: comments, quotes, export, blanks", () => {
    const text = [
      "SERVER_ENVIRONMENT=development        # development | staging | production",
      "# DATABASE_URL=postgres://commented/out",
      'A="a # not a comment"  # a comment',
      "B='single'",
      "export C = spaced value ",
      "D=x#y", // dotenv: an unquoted value ends at the first #
      "G='it\\'s'",
      "E=",
      'F="two\\nlines"',
      "not a variable line",
    ].join("\n");
    expect(parseDevVars(text)).toEqual({
      SERVER_ENVIRONMENT: "development", A: "a # not a comment", B: "single", C: "spaced value", D: "x", E: "", F: "two\nlines", G: "it\\'s",
    });
  });

  it("knows every variable the worker reads", () => {
    const names = configVariableNames();
    expect(names).toEqual(expect.arrayContaining(["DATABASE_URL", "STORAGE_ENDPOINT", "SESSION_SECRET", "LOG_LEVEL", "SERVER_PUBLIC_URL"]));
  });
});
