#!/usr/bin/env node
// npm run admin -- grant-role <email> <role> [--expires <date>] | revoke-role <email> <role> | roles <email>
// The only way to create the first admin. Uses DATABASE_URL (default: the embedded database).
// In production: docker compose run --rm migrate node scripts/admin.mjs grant-role <email> admin
// Every change is audited, keeps users.role (the legacy single role) at the highest role held,
// and makes the user's live sessions get a new session id on their next request. A grant that
// changes nothing (the role is already held with the same expiry) writes nothing.
// The command and its arguments are checked before connecting. Exit codes: 0 done (or nothing
// to do), 1 failed (no such user, database unreachable or not migrated), 2 usage error.
import pg from "pg";
import { databaseTarget, databaseUrlFromEnv, databaseUrlProblem } from "./lib/database-url.mjs";

const ROLES = ["user", "moderator", "admin"];
const COMMANDS = { "grant-role": ["email", "role"], "revoke-role": ["email", "role"], roles: ["email"] };
const USAGE = `usage: npm run admin -- <command>
  grant-role <email> <role> [--expires <date>]   roles: ${ROLES.join(", ")}
      <date>: YYYY-MM-DD (00:00 UTC that day) or an ISO timestamp with its zone
      (2030-01-31T18:00:00Z, 2030-01-31T18:00+02:00), in the future; without it the grant is permanent
  revoke-role <email> <role>
  roles <email>                                  list a user's roles and entitlements`;

/** A failure the user can act on: printed as one line, exit 1. */
class CliError extends Error {}
/** A wrong command line: exit 2, with the usage when `showUsage`. */
class UsageError extends CliError {
  constructor(message, showUsage = false) {
    super(message);
    this.showUsage = showUsage;
  }
}

/**
 * --expires: YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM[:SS[.sss]] with Z or ±HH:MM. The
 * date must exist (no 2030-02-30) and lie in the future: a past expiry would revoke the role.
 */
function parseExpires(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-](\d{2}):(\d{2})))?$/.exec(text);
  if (!m) {
    throw new UsageError(
      `--expires ${text} is not a date: use YYYY-MM-DD (00:00 UTC that day) or an ISO timestamp with its zone, e.g. 2030-01-31T18:00:00Z`,
    );
  }
  const [, y, mo, d, hh = "0", mi = "0", ss = "0", , oh = "0", om = "0"] = m;
  const day = new Date(0);
  day.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  if (day.getUTCFullYear() !== Number(y) || day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) {
    throw new UsageError(`--expires ${text}: there is no such date`);
  }
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 59 || Number(oh) > 23 || Number(om) > 59) {
    throw new UsageError(`--expires ${text}: there is no such time`);
  }
  const when = new Date(m[4] === undefined ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(when.getTime())) throw new UsageError(`--expires ${text} is not a date`);
  if (when.getTime() <= Date.now()) {
    throw new UsageError(
      `--expires ${text} is in the past (${when.toISOString()}): the expiry must be in the future (to take a role away, use revoke-role)`,
    );
  }
  return when;
}

/** The command line, fully checked: nothing is done before it is right. */
function parseArgs(argv) {
  const [command, ...rest] = argv;
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command ${command}`, true);
  const positionals = [];
  let expires = null;
  let expiresGiven = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--expires" || arg.startsWith("--expires=")) {
      if (command !== "grant-role") throw new UsageError(`--expires is only for grant-role`, true);
      if (expiresGiven) throw new UsageError("--expires is given twice");
      expiresGiven = true;
      const value = arg === "--expires" ? rest[++i] : arg.slice("--expires=".length);
      if (value === undefined || value === "") throw new UsageError("--expires needs a date: YYYY-MM-DD or an ISO timestamp with its zone");
      expires = parseExpires(value);
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${arg}`, true);
    } else {
      positionals.push(arg);
    }
  }
  const wanted = COMMANDS[command];
  if (positionals.length < wanted.length) {
    throw new UsageError(`${command} needs ${wanted.map((w) => `<${w}>`).join(" ")}: <${wanted[positionals.length]}> is missing`, true);
  }
  if (positionals.length > wanted.length) throw new UsageError(`${command}: unexpected argument ${positionals[wanted.length]}`, true);
  const [email, role] = positionals;
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError(`${email} is not an email address`);
  if (wanted.includes("role") && !ROLES.includes(role)) throw new UsageError(`unknown role ${role}; roles: ${ROLES.join(", ")}`);
  return { command, email, role, expires };
}

async function withTx(client, fn) {
  await client.query("BEGIN");
  try {
    const result = await fn();
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
}

async function userByEmail(client, email) {
  const { rows } = await client.query("SELECT id, email, role FROM users WHERE lower(email) = lower($1)", [email]);
  if (!rows[0]) throw new CliError(`no user with email ${email} (they must sign in once first)`);
  return rows[0];
}

async function roleId(client, name) {
  const { rows } = await client.query("SELECT id FROM roles WHERE name = $1", [name]);
  if (!rows[0]) throw new CliError(`the database has no role ${name} in its roles table: are all migrations applied? (npm run migrate -- up)`);
  return rows[0].id;
}

/** users.role follows the highest live role; sessions must be rotated; the change is audited. */
async function afterChange(client, user, event, details) {
  await client.query(
    `UPDATE users SET role = COALESCE((
       SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
       WHERE ur.user_id = $1 AND (ur.expires_at IS NULL OR ur.expires_at > now()) AND r.name IN ('admin', 'moderator')
       ORDER BY CASE r.name WHEN 'admin' THEN 0 ELSE 1 END LIMIT 1), 'user')
     WHERE id = $1`,
    [user.id],
  );
  await client.query("UPDATE sessions SET needs_rotation = true WHERE user_id = $1 AND revoked_at IS NULL", [user.id]);
  await client.query(
    `INSERT INTO audit_log (user_id, event_type, resource_type, resource_id, action, status, details)
     VALUES ($1, $2, 'user', $5, $3, 'success', $4)`,
    [user.id, event, event === "role_granted" ? "create" : "delete", JSON.stringify({ ...details, by: "cli" }), user.id],
  );
}

const describeExpiry = (date) => (date ? `until ${date.toISOString()}` : "permanently");

async function grantRole(client, user, role, expires) {
  const id = await roleId(client, role);
  const before = await withTx(client, async () => {
    // One change per user at a time, so two identical grants cannot both be written.
    await client.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [user.id]);
    const { rows } = await client.query(
      "SELECT expires_at, expires_at IS NOT NULL AND expires_at <= now() AS expired FROM user_roles WHERE user_id = $1 AND role_id = $2",
      [user.id, id],
    );
    // An expired grant is not held: granting again is a new grant.
    const held = rows[0] && !rows[0].expired ? rows[0] : null;
    if (held && (held.expires_at?.getTime() ?? null) === (expires?.getTime() ?? null)) return { unchanged: true, held };
    await client.query(
      `INSERT INTO user_roles (user_id, role_id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, role_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, granted_at = now()`,
      [user.id, id, expires],
    );
    const details = { role, expires_at: expires?.toISOString() ?? null };
    if (held) details.previous_expires_at = held.expires_at?.toISOString() ?? null;
    await afterChange(client, user, "role_granted", details);
    return { unchanged: false, held };
  });
  if (before.unchanged) {
    console.log(`${user.email} already has ${role} ${describeExpiry(before.held.expires_at)}: nothing changed`);
  } else if (before.held) {
    console.log(`granted ${role} to ${user.email} ${describeExpiry(expires)} (it was held ${describeExpiry(before.held.expires_at)})`);
  } else {
    console.log(`granted ${role} to ${user.email} ${describeExpiry(expires)}`);
  }
}

async function revokeRole(client, user, role) {
  const id = await roleId(client, role);
  const removed = await withTx(client, async () => {
    const { rowCount } = await client.query("DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2", [user.id, id]);
    if (rowCount > 0) await afterChange(client, user, "role_revoked", { role });
    return rowCount;
  });
  console.log(removed ? `revoked ${role} from ${user.email}` : `${user.email} did not have ${role}`);
}

async function connect() {
  const fromEnv = Boolean(process.env.DATABASE_URL);
  if (fromEnv) {
    const problem = databaseUrlProblem(process.env.DATABASE_URL);
    if (problem) throw new CliError(`DATABASE_URL is invalid: ${problem}`);
  }
  const url = await databaseUrlFromEnv().catch((err) => {
    throw new CliError(err.message);
  });
  if (url === null) throw new CliError("DATABASE_URL is not set");
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new CliError(
      fromEnv
        ? `cannot connect to the database at ${databaseTarget(url)} (DATABASE_URL): ${err.message}`
        : `cannot connect to the database at ${databaseTarget(url)}: ${err.message}. ` +
            "DATABASE_URL is not set, so this is the embedded database of npm start: run npm start, or set DATABASE_URL",
    );
  }
  return { client, url };
}

async function main(argv) {
  if (argv.length === 0 || ["--help", "-h", "help"].includes(argv[0])) {
    (argv.length === 0 ? console.error : console.log)(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const { command, email, role, expires } = parseArgs(argv);
  const { client, url } = await connect();
  try {
    const user = await userByEmail(client, email);
    if (command === "grant-role") {
      await grantRole(client, user, role, expires);
    } else if (command === "revoke-role") {
      await revokeRole(client, user, role);
    } else {
      const { rows } = await client.query("SELECT roles, entitlements, legacy_role FROM user_with_roles WHERE id = $1", [user.id]);
      console.log(JSON.stringify({ email: user.email, ...rows[0] }, null, 2));
    }
    return 0;
  } catch (err) {
    // 42P01 undefined_table, 42703 undefined_column, 42883 undefined_function: no (or an old) schema.
    if (["42P01", "42703", "42883"].includes(err.code)) {
      throw new CliError(`the database at ${databaseTarget(url)} is not migrated (${err.message}): run the migrations first: npm run migrate -- up`);
    }
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`admin: ${err.message}`);
      if (err.showUsage) console.error(USAGE);
      process.exit(2);
    }
    if (err instanceof CliError) console.error(`admin: ${err.message}`);
    else if (typeof err?.code === "string" && err.severity) console.error(`admin: the database refused: ${err.message} (SQLSTATE ${err.code})`);
    else console.error("admin: unexpected error:", err);
    process.exit(1);
  },
);
