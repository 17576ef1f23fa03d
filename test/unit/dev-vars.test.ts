// scripts/lib/dev-vars.mjs: how `npm run dev` reads .dev.vars (as wrangler does) and hands its own
// settings to wrangler in an env file.
import { describe, expect, it } from "vitest";
import { configVariableNames, envFileText, parseDevVars } from "../../scripts/lib/dev-vars.mjs";

describe(".dev.vars", () => {
  it("reads dotenv syntax: inline comments, quotes, export, blanks", () => {
    const text = [
      "SERVER_ENVIRONMENT=development        # development | staging | production",
      "# DATABASE_URL=postgres://commented/out",
      'A="a # not a comment"  # a comment',
      "B='single'",
      "export C = spaced value ",
      "D=x#y",
      "E=",
      'F="two\\nlines"',
      "not a variable line",
    ].join("\n");
    expect(parseDevVars(text)).toEqual({
      SERVER_ENVIRONMENT: "development", A: "a # not a comment", B: "single", C: "spaced value", D: "x#y", E: "", F: "two\nlines",
    });
  });

  it("writes values back so that the same reading gives them exactly; what it cannot write goes to rest", () => {
    const vars = { A: "plain", B: "it's", C: "postgres://u:p@h:1/db?x=1#frag", D: "back\\slash", E: 'a"b' };
    const { text, rest } = envFileText({ ...vars, F: "a'b\"c", G: "line\nbreak" });
    expect(parseDevVars(text)).toEqual(vars);
    expect(rest).toEqual({ F: "a'b\"c", G: "line\nbreak" });
  });

  it("knows every variable the worker reads", () => {
    const names = configVariableNames();
    expect(names).toEqual(expect.arrayContaining(["DATABASE_URL", "STORAGE_ENDPOINT", "SESSION_SECRET", "LOG_LEVEL", "SERVER_PUBLIC_URL"]));
    expect(names.every((n) => /^[A-Z][A-Z0-9_]+$/.test(n))).toBe(true);
  });
});
