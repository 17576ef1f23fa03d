#!/usr/bin/env node
// npm run dev: `wrangler dev` (live reload) with .dev.vars, against the same embedded PostgreSQL and
// S3 store as `npm start` unless .dev.vars or the environment set DATABASE_URL / STORAGE_ENDPOINT.
// Extra arguments go to wrangler: npm run dev -- --port 8788
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startEmbeddedServices } from "./lib/embedded.mjs";
import { bundleDefines, ROOT } from "./lib/runtime.mjs";
import { onShutdown, say } from "./lib/shutdown.mjs";

const log = say("dev");

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

async function main() {
  const shutdown = onShutdown(log);
  const given = { ...devVars(), ...process.env };
  const services = await startEmbeddedServices({ env: given, say: log });
  shutdown.add(services.stop);

  // Variables from the environment or the embedded services win over .dev.vars only when .dev.vars
  // does not set them; wrangler reads .dev.vars itself.
  const fromDevVars = devVars();
  const port = process.env.SERVER_PORT || "8787";
  // The worker's own default public URL names port 8080 (npm start's); OAuth redirects must come
  // back to the port wrangler listens on.
  const defaults = { SERVER_ENVIRONMENT: "development", SERVER_PUBLIC_URL: process.env.SERVER_PUBLIC_URL || `http://localhost:${port}` };
  const vars = Object.entries({ ...defaults, ...services.vars }).filter(([k]) => !(k in fromDevVars));
  const args = [
    "dev",
    "--port", port,
    ...bundleDefines(),
    ...vars.flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ...process.argv.slice(2),
  ];
  const child = spawn(join(ROOT, "node_modules", ".bin", "wrangler"), args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  shutdown.add(() => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", resolve), child.kill("SIGINT")))));
  child.once("exit", (code) => {
    if (!shutdown.stopping) shutdown.now(code ?? 1);
  });
}

main().catch((err) => {
  console.error(`[dev] ${err.message}`);
  process.exit(1);
});
