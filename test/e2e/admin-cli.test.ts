// scripts/admin.mjs: arguments are checked before connecting, --expires must be a real future
// date, a grant that changes nothing writes nothing, and an unmigrated database is named as such.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, dropDatabase } from "../support/database";
import { adminCli, newUser, sql, type User } from "../support/economy";
import { adminDatabaseUrl, databaseUrl } from "../support/env";

describe("admin CLI: the command line is checked before connecting", () => {
  // Nothing listens there: any attempt to connect would fail with "cannot connect".
  const nowhere = "postgres://nobody:secret@127.0.0.1:1/none";
  const refused = (args: string[], message: string | RegExp) => {
    const res = adminCli(args, nowhere);
    expect(res.stderr).not.toContain("cannot connect");
    expect(res.stderr).toMatch(message);
    expect(res.status).toBe(2);
  };

  it("names an unknown command", () => refused(["grnt-role", "a@example.com", "admin"], /^admin: unknown command grnt-role\n/));

  it("a missing role is a usage error, not 'unknown role undefined'", () => {
    refused(["grant-role", "a@example.com"], "grant-role needs <email> <role>: <role> is missing");
    expect(adminCli(["grant-role", "a@example.com"], nowhere).stderr).not.toContain("undefined");
  });

  it("refuses extra arguments and unknown options", () => {
    refused(["roles", "a@example.com", "admin"], "roles: unexpected argument admin");
    refused(["revoke-role", "a@example.com", "admin", "--expires", "2999-01-01"], "--expires is only for grant-role");
    refused(["grant-role", "a@example.com", "admin", "--force"], "unknown option --force");
  });

  it("--expires must be a real date, written YYYY-MM-DD or as an ISO timestamp with its zone", () => {
    refused(["grant-role", "a@example.com", "admin", "--expires"], "--expires needs a date");
    refused(["grant-role", "a@example.com", "admin", "--expires", "12"], "--expires 12 is not a date");
    refused(["grant-role", "a@example.com", "admin", "--expires", "tomorrow"], "--expires tomorrow is not a date");
    refused(["grant-role", "a@example.com", "admin", "--expires", "2999-02-30"], "--expires 2999-02-30: there is no such date");
    refused(["grant-role", "a@example.com", "admin", "--expires", "2999-01-01T25:00:00Z"], "there is no such time");
    // Without a zone the instant would depend on the machine's time zone.
    refused(["grant-role", "a@example.com", "admin", "--expires", "2999-01-01T10:00:00"], "is not a date");
  });

  it("--expires in the past is refused (it would revoke the role while saying 'granted')", () => {
    refused(["grant-role", "a@example.com", "admin", "--expires", "2000-01-01"], "--expires 2000-01-01 is in the past");
    refused(["grant-role", "a@example.com", "admin", "--expires=2020-06-01T00:00:00Z"], "is in the past");
  });

  it("an unusable DATABASE_URL is named as such", () => {
    const res = adminCli(["roles", "a@example.com"], "not a url");
    expect(res.stderr).toContain("admin: DATABASE_URL is invalid: it is not a URL");
    expect(res.status).toBe(1);
  });
});

describe("admin CLI against the database", () => {
  let u: User;
  const grants = async () =>
    (await sql("SELECT details FROM audit_log WHERE user_id = $1 AND event_type = 'role_granted' ORDER BY created_at, id", [u.id])).map((r) => r.details);
  const flagged = async () => (await sql("SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND needs_rotation", [u.id]))[0]!.n;
  const expiry = async () => (await sql("SELECT ur.expires_at FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 AND r.name = 'admin'", [u.id]))[0]?.expires_at;

  beforeAll(async () => {
    u = await newUser();
  });

  it("granting a role already held with the same expiry says so, and writes no audit row and no session rotation", async () => {
    const first = adminCli(["grant-role", u.email, "admin"]);
    expect(first.stderr).toBe("");
    expect(await grants()).toHaveLength(1);
    expect(await flagged()).toBe(1);
    expect(first.stdout).toContain(`granted admin to ${u.email}`);
    await sql("UPDATE sessions SET needs_rotation = false WHERE user_id = $1", [u.id]);

    const again = adminCli(["grant-role", u.email.toUpperCase(), "admin"]);
    expect(again.status).toBe(0);
    expect(await grants()).toHaveLength(1);
    expect(await flagged()).toBe(0);
    expect(again.stdout).toContain(`${u.email} already has admin permanently: nothing changed`);
  });

  it("a past --expires leaves the grant as it was; a future one changes it, says from what, and repeats as a no-op", async () => {
    expect(adminCli(["grant-role", u.email, "admin", "--expires", "2001-01-01"]).status).toBe(2);
    expect(await expiry()).toBeNull();

    const limited = adminCli(["grant-role", u.email, "admin", "--expires", "2999-01-01"]);
    expect(limited.stdout).toContain(`granted admin to ${u.email} until 2999-01-01T00:00:00.000Z (it was held permanently)`);
    expect((await expiry()).toISOString()).toBe("2999-01-01T00:00:00.000Z");
    expect((await grants()).at(-1)).toMatchObject({ role: "admin", expires_at: "2999-01-01T00:00:00.000Z", previous_expires_at: null, by: "cli" });

    // The same instant written another way changes nothing.
    const same = adminCli(["grant-role", u.email, "admin", "--expires", "2999-01-01T01:00+01:00"]);
    expect(same.stdout).toContain("already has admin until 2999-01-01T00:00:00.000Z: nothing changed");
    expect(await grants()).toHaveLength(2);
    const roles = JSON.parse(adminCli(["roles", u.email]).stdout);
    expect(roles.roles).toContain("admin");
  });
});

describe("admin CLI on a database without the schema", () => {
  let url: string;
  beforeAll(async () => {
    url = await createScratchDatabase(adminDatabaseUrl(), "ignition_unmigrated");
  });
  afterAll(() => dropDatabase(adminDatabaseUrl(), url));

  it("says to run the migrations, without a stack trace", () => {
    const res = adminCli(["grant-role", "a@example.com", "admin"], url);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^admin: the database at 127\.0\.0\.1:\d+\/ignition_unmigrated_\w+ is not migrated \(relation "users" does not exist\): run the migrations first: npm run migrate -- up\n$/);
  });
});
