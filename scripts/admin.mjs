#!/usr/bin/env node
// npm run admin -- grant-role <email> <role> [--expires <ISO date>] | revoke-role <email> <role> | roles <email>
// The only way to create the first admin. Uses DATABASE_URL (default: the embedded database).
// In production: docker compose run --rm migrate node scripts/admin.mjs grant-role <email> admin
// Every change is audited, keeps users.role (the legacy single role) at the highest role held,
// and makes the user's live sessions get a new session id on their next request.
import pg from "pg";
import { databaseUrlFromEnv } from "./lib/database-url.mjs";

const ROLES = ["user", "moderator", "admin"];
const USAGE = `usage: npm run admin -- <command>
  grant-role <email> <role> [--expires <ISO date>]   roles: ${ROLES.join(", ")}
  revoke-role <email> <role>
  roles <email>                                      list a user's roles and entitlements`;

class CliError extends Error {}

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
  if (!ROLES.includes(name)) throw new CliError(`unknown role ${name}; roles: ${ROLES.join(", ")}`);
  const { rows } = await client.query("SELECT id FROM roles WHERE name = $1", [name]);
  return rows[0].id;
}

/** users.role follows the highest live role; sessions must be rotated; the change is audited. */
async function afterChange(client, user, event, role) {
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
    [user.id, event, event === "role_granted" ? "create" : "delete", JSON.stringify({ role, by: "cli" }), user.id],
  );
}

async function main(argv) {
  const [command, email, role, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (!email) throw new CliError(`${command} needs an email\n${USAGE}`);
  const url = await databaseUrlFromEnv();
  if (url === null) throw new CliError("DATABASE_URL is not set");
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new CliError(`cannot connect to the database (DATABASE_URL): ${err.message}`);
  }
  try {
    const user = await userByEmail(client, email);
    if (command === "grant-role") {
      const i = rest.indexOf("--expires");
      const expires = i === -1 ? null : new Date(rest[i + 1] ?? "");
      if (expires !== null && Number.isNaN(expires.getTime())) throw new CliError("--expires needs an ISO date");
      const id = await roleId(client, role);
      await withTx(client, async () => {
        await client.query(
          `INSERT INTO user_roles (user_id, role_id, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, role_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, granted_at = now()`,
          [user.id, id, expires],
        );
        await afterChange(client, user, "role_granted", role);
      });
      console.log(`granted ${role} to ${user.email}`);
    } else if (command === "revoke-role") {
      const id = await roleId(client, role);
      const removed = await withTx(client, async () => {
        const { rowCount } = await client.query("DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2", [user.id, id]);
        if (rowCount > 0) await afterChange(client, user, "role_revoked", role);
        return rowCount;
      });
      console.log(removed ? `revoked ${role} from ${user.email}` : `${user.email} did not have ${role}`);
    } else if (command === "roles") {
      const { rows } = await client.query("SELECT roles, entitlements, legacy_role FROM user_with_roles WHERE id = $1", [user.id]);
      console.log(JSON.stringify({ email: user.email, ...rows[0] }, null, 2));
    } else {
      throw new CliError(`unknown command ${command}\n${USAGE}`);
    }
    return 0;
  } finally {
    await client.end().catch(() => {});
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof CliError ? `admin: ${err.message}` : err);
    process.exit(1);
  },
);
