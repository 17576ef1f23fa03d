#!/usr/bin/env node
// npm start: the API on http://127.0.0.1:8080 with embedded defaults — PostgreSQL 17 (data kept in
// the state directory and reused on the next start), migrations applied, a local S3 store,
// development config — served by workerd from build/runtime exactly as the container runs it.
// Any variable of .dev.vars.example set in the environment overrides the default.
//
// The settings and ports are checked before anything starts. Ctrl-C, SIGTERM or SIGHUP (the
// terminal closing) at any moment stops everything this started; so does a failed start. Exit
// code: 0 after a stop once the API was ready, 128 + the signal number when a signal interrupted
// the start, 1 when the start failed or the API exited on its own.
import { startApiProcess } from "./lib/api-process.mjs";
import { checkEmbeddedServices, embeddedSettings, portSetting, startEmbeddedServices } from "./lib/embedded.mjs";
import { portAvailable } from "./lib/postgres.mjs";
import { assembleRuntime, bundleWorker } from "./lib/runtime.mjs";
import { onShutdown, say } from "./lib/shutdown.mjs";

const log = say("start");
const shutdown = onShutdown(log);

/** What this script reads itself, checked before anything starts; errors quote what was typed. */
function settings(env) {
  const port = portSetting(env, "SERVER_PORT", 8080);
  const host = env.SERVER_HOST?.trim() || "127.0.0.1";
  const workers = env.WORKERS?.trim();
  if (workers && (!/^\d+$/.test(workers) || Number(workers) < 1 || Number(workers) > 64)) {
    throw new Error(`WORKERS=${env.WORKERS} is invalid: it must be a whole number from 1 to 64`);
  }
  const embedded = embeddedSettings(env);
  for (const [name, used] of [["EMBEDDED_PG_PORT", embedded.pgPort], ["EMBEDDED_S3_PORT", embedded.s3Port]]) {
    if (used === port) throw new Error(`SERVER_PORT and ${name} are both ${port}: they need different ports`);
  }
  return { port, host };
}

async function checkApiPort(port, host) {
  let free;
  try {
    free = await portAvailable(port, host);
  } catch (err) {
    const why = err.code === "EACCES" ? "no permission (ports below 1024 need root)" : err.message;
    throw new Error(`cannot listen on ${host}:${port} (SERVER_HOST, SERVER_PORT): ${why}`);
  }
  if (!free) throw new Error(`port ${port} is already in use (${host}:${port}): stop what listens there or set SERVER_PORT`);
}

async function main() {
  const { port, host } = settings(process.env);
  await checkApiPort(port, host);
  await checkEmbeddedServices({ env: process.env });

  log("bundling the worker");
  await bundleWorker();
  await assembleRuntime();
  const services = await startEmbeddedServices({ say: log, register: shutdown.add });

  const env = {
    SERVER_ENVIRONMENT: "development",
    SERVER_PUBLIC_URL: `http://localhost:${port}`,
    FRONTEND_URL: "http://localhost:3000",
    METRICS_ENABLED: "true",
    ...process.env,
    ...services.vars,
  };
  const api = await startApiProcess({
    env,
    port,
    host,
    readyPath: "/health/ready",
    onOutput: (text) => process.stdout.write(text),
    onSpawn: shutdown.add,
  });
  shutdown.ready();
  log(`Ignition API ready on ${api.url}  (Ctrl-C to stop)`);
  const code = await api.exited;
  if (!shutdown.stopping) {
    log(`the API launcher exited with code ${code}`);
    await shutdown.now(1);
  }
}

main().catch(async (err) => {
  // A signal is stopping everything already (and chooses the exit code): what failed is its doing.
  if (shutdown.stopping) return;
  console.error(`[start] ${err.message}`);
  await shutdown.now(1);
});
