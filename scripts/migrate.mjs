#!/usr/bin/env node
// npm run migrate -- up [--to N] | down [N | --to N] | status | check | create NAME
// Uses DATABASE_URL (or the embedded database that `npm start` runs, when DATABASE_URL is unset).
// The container image ships this file with lib/migrator.mjs, lib/sql-split.mjs, lib/database-url.mjs
// and migrations/ (the compose `migrate` service runs it), so it finds everything relative to itself.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { databaseUrlFromEnv, databaseUrlProblem } from "./lib/database-url.mjs";
import { createMigration, MigrationError, Migrator } from "./lib/migrator.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIR = join(HERE, "..", "migrations");
const USAGE = `usage: npm run migrate -- <command>   (in the image: node scripts/migrate.mjs <command>)
  up [--to NNNN]        apply pending migrations (all, or up to NNNN)
  down [N | --to NNNN]  roll back the last N migrations applied (default 1), or all applied after NNNN
  status                list migrations and whether each is applied
  check                 exit 0 when nothing is pending, 3 (listing them) when migrations are pending
  create NAME           add migrations/NNNN_NAME.sql and NNNN_NAME.down.sql
environment: DATABASE_URL (default: the embedded database of \`npm start\`)`;

/** A mistake in the command line: exit 2 with the usage, before anything touches the database. */
class UsageError extends Error {}

/** Takes `--to NNNN` out of args. Only digits: an empty value must not read as 0 ("everything"). */
function option(args, name) {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const raw = args[i + 1];
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) throw new UsageError(`${name} needs a migration number, e.g. ${name} 0007 (got ${raw === undefined ? "nothing" : JSON.stringify(raw)})`);
  args.splice(i, 2);
  return Number(raw);
}

function noMore(args, command) {
  if (args.length > 0) throw new UsageError(`unexpected argument${args.length > 1 ? "s" : ""} for ${command}: ${args.join(" ")}`);
}

async function databaseUrl() {
  const url = await databaseUrlFromEnv().catch((err) => {
    throw new MigrationError(err.message);
  });
  if (url === null) throw new MigrationError("DATABASE_URL is not set");
  const problem = databaseUrlProblem(url);
  if (problem !== null) throw new MigrationError(`DATABASE_URL is unusable: ${problem}`);
  return url;
}

async function main(argv) {
  const [command, ...args] = argv;
  if (command === "--help" || command === "-h") {
    console.log(USAGE);
    return 0;
  }
  if (!command) throw new UsageError("which command?");
  if (command === "create") {
    if (!args[0]) throw new UsageError("create needs a NAME");
    noMore(args.slice(1), "create");
    for (const f of createMigration(DIR, args[0])) console.log(`created ${f}`);
    return 0;
  }
  if (!["up", "down", "status", "check"].includes(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  // Every argument is checked before connecting: a typo never reaches the database.
  const to = command === "up" || command === "down" ? option(args, "--to") : undefined;
  let steps = 1;
  if (command === "down" && args.length > 0) {
    if (to !== undefined) throw new UsageError("down takes N or --to NNNN, not both");
    if (!/^\d{1,4}$/.test(args[0]) || Number(args[0]) < 1) throw new UsageError(`down N needs a positive number (got ${JSON.stringify(args[0])})`);
    steps = Number(args.shift());
  }
  noMore(args, command);
  const migrator = new Migrator({ databaseUrl: await databaseUrl(), dir: DIR });
  if (command === "up") {
    await migrator.up(to ?? Infinity);
  } else if (command === "down") {
    await migrator.down({ steps, to });
  } else if (command === "status") {
    const rows = await migrator.status();
    if (rows.length === 0) console.log("no migrations");
    for (const r of rows) console.log(`${r.state.padEnd(12)} ${r.file}${r.applied_at ? `  (${r.applied_at.toISOString()})` : ""}`);
  } else {
    // check: for deploy scripts, which must not change the schema without being asked to.
    const rows = await migrator.status();
    const bad = rows.filter((r) => r.state === "CHANGED");
    if (bad.length > 0) throw new MigrationError(bad.map((r) => `${r.file}: ${r.state}`).join(", "));
    const pending = rows.filter((r) => r.state === "pending");
    if (pending.length > 0) {
      console.log(`pending: ${pending.map((r) => r.file).join(", ")}`);
      return 3;
    }
    console.log("the schema is up to date");
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      console.error(`migrate: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(err instanceof MigrationError ? `migrate: ${err.message}` : err);
    process.exit(1);
  },
);
