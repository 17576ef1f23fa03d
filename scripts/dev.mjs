#!/usr/bin/env node
// npm run dev: `wrangler dev` (live reload) with .dev.vars, against the same embedded PostgreSQL and
// S3 store as `npm start` unless .dev.vars or the environment set DATABASE_URL / STORAGE_ENDPOINT.
// Settings: the environment wins over .dev.vars, and both over the embedded defaults. wrangler reads
// .dev.vars itself; what we add goes to it as --var (taken literally, and winning over .dev.vars),
// so a value from the environment shows in wrangler's command line: keep secrets in .dev.vars.
// The port is SERVER_PORT (default 8787), or --port: npm run dev -- --port 8788. Other arguments go
// to wrangler as they are. Ctrl-C, SIGTERM or SIGHUP stops wrangler and the embedded services; so
// does this process's death, even by SIGKILL (spawnTied).
import { join } from "node:path";
import { configVariableNames, readDevVars } from "./lib/dev-vars.mjs";
import { checkEmbeddedServices, portSetting, startEmbeddedServices } from "./lib/embedded.mjs";
import { portAvailable } from "./lib/postgres.mjs";
import { bundleDefines, ROOT } from "./lib/runtime.mjs";
import { onShutdown, say } from "./lib/shutdown.mjs";
import { spawnTied } from "./lib/tied.mjs";

const log = say("dev");
const shutdown = onShutdown(log);

/** Set to something other than blanks (config.ts treats blank as unset). */
const isSet = (value) => value !== undefined && value.trim() !== "";

/** --port N / --port=N taken out of the arguments (given to wrangler once, by us); the rest as given. */
function portArgument(argv) {
  const rest = [];
  const ports = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--port") {
      if (i + 1 >= argv.length) throw new Error("--port needs a value: npm run dev -- --port 8788");
      ports.push(argv[++i]);
    } else if (argv[i].startsWith("--port=")) {
      ports.push(argv[i].slice("--port=".length));
    } else {
      rest.push(argv[i]);
    }
  }
  if (ports.length > 1) throw new Error(`--port is given ${ports.length} times (${ports.join(", ")}): give it once`);
  if (ports.length === 0) return { port: null, rest };
  const n = Number(ports[0]);
  if (!/^\d+$/.test(ports[0]) || n < 1 || n > 65535) throw new Error(`--port ${ports[0]} is invalid: it must be a whole number from 1 to 65535`);
  return { port: n, rest };
}

async function main() {
  // Checked before anything starts: the command line wins over SERVER_PORT.
  const { port: portArg, rest } = portArgument(process.argv.slice(2));
  const port = String(portArg ?? portSetting(process.env, "SERVER_PORT", 8787));
  const fromDevVars = readDevVars();
  // What the worker will see, and so what decides the services and the database to migrate.
  const given = { ...fromDevVars };
  for (const [k, v] of Object.entries(process.env)) if (isSet(v)) given[k] = v;
  // Nothing starts when wrangler could not listen or an embedded service could not start.
  if (!(await portAvailable(Number(port)))) {
    throw new Error(`port ${port} is already in use (127.0.0.1:${port}): stop what listens there, or use --port N or SERVER_PORT`);
  }
  await checkEmbeddedServices({ env: given });
  const services = await startEmbeddedServices({ env: given, say: log, register: shutdown.add });

  // The worker's own default public URL names port 8080 (npm start's); OAuth redirects must come
  // back to the port wrangler listens on.
  const defaults = { SERVER_ENVIRONMENT: "development", SERVER_PUBLIC_URL: `http://localhost:${port}` };
  const fromEnvironment = Object.fromEntries(
    configVariableNames()
      .filter((k) => k !== "SERVER_PORT" && isSet(process.env[k])) // the port is wrangler's --port
      .map((k) => [k, process.env[k]]),
  );
  const vars = {
    ...Object.fromEntries(Object.entries(defaults).filter(([k]) => !isSet(fromDevVars[k]))),
    ...services.vars, // only what neither .dev.vars nor the environment gave
    ...fromEnvironment,
  };
  // Not --env-file: with it wrangler would stop reading .dev.vars itself, and it expands $NAME in
  // such files, which .dev.vars (read natively) and --var do not.
  const args = [
    "dev",
    "--port", port,
    ...bundleDefines(),
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ...rest,
  ];
  const child = spawnTied(join(ROOT, "node_modules", ".bin", "wrangler"), args, { cwd: ROOT, stdio: "inherit", env: {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    // Without .dev.vars wrangler would read a .env in the checkout instead (expanding $NAME in it),
    // values this script never saw when it chose the database and store: .dev.vars only.
    CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "false",
  } });
  shutdown.add(() => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : (child.once("exit", resolve), child.kill("SIGINT")))));
  shutdown.ready();
  child.once("error", (err) => {
    log(`cannot run wrangler: ${err.message}`);
    if (!shutdown.stopping) shutdown.now(1);
  });
  child.once("exit", (code) => {
    if (!shutdown.stopping) shutdown.now(code ?? 1);
  });
}

main().catch((err) => {
  console.error(`[dev] ${err.message}`);
  process.exit(1);
});
