#!/usr/bin/env node
// npm run dev: `wrangler dev` (live reload) with .dev.vars, against the same embedded PostgreSQL and
// S3 store as `npm start` unless .dev.vars or the environment set DATABASE_URL / STORAGE_ENDPOINT.
// The port is SERVER_PORT (default 8787), or --port: npm run dev -- --port 8788. Other arguments go
// to wrangler as they are. Ctrl-C, SIGTERM or SIGHUP stops wrangler and the embedded services.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { portSetting, startEmbeddedServices } from "./lib/embedded.mjs";
import { bundleDefines, ROOT } from "./lib/runtime.mjs";
import { onShutdown, say } from "./lib/shutdown.mjs";

const log = say("dev");
const shutdown = onShutdown(log);

/** The few KEY=value lines of .dev.vars that decide which services we must start. */
function devVars() {
  const file = join(ROOT, ".dev.vars");
  if (!existsSync(file)) return {};
  const vars = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

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
  const given = { ...devVars(), ...process.env };
  const services = await startEmbeddedServices({ env: given, say: log, register: shutdown.add });

  // Variables from the environment or the embedded services win over .dev.vars only when .dev.vars
  // does not set them; wrangler reads .dev.vars itself.
  const fromDevVars = devVars();
  // The worker's own default public URL names port 8080 (npm start's); OAuth redirects must come
  // back to the port wrangler listens on.
  const defaults = { SERVER_ENVIRONMENT: "development", SERVER_PUBLIC_URL: process.env.SERVER_PUBLIC_URL || `http://localhost:${port}` };
  const vars = Object.entries({ ...defaults, ...services.vars }).filter(([k]) => !(k in fromDevVars));
  const args = [
    "dev",
    "--port", port,
    ...bundleDefines(),
    ...vars.flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ...rest,
  ];
  const child = spawn(join(ROOT, "node_modules", ".bin", "wrangler"), args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
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
