#!/usr/bin/env node
// npm start: the API on http://127.0.0.1:8080 with embedded defaults — PostgreSQL 17 (data kept in
// the state directory and reused on the next start), migrations applied, a local S3 store,
// development config — served by workerd from build/runtime exactly as the container runs it.
// Any variable of .dev.vars.example set in the environment overrides the default.
// Ctrl-C stops everything this started.
import { startApiProcess } from "./lib/api-process.mjs";
import { startEmbeddedServices } from "./lib/embedded.mjs";
import { assembleRuntime, bundleWorker } from "./lib/runtime.mjs";
import { onShutdown, say } from "./lib/shutdown.mjs";

const log = say("start");

async function main() {
  const port = Number(process.env.SERVER_PORT || 8080);
  log("bundling the worker");
  await bundleWorker();
  await assembleRuntime();
  const shutdown = onShutdown(log);
  const services = await startEmbeddedServices({ say: log });
  shutdown.add(services.stop);

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
    host: process.env.SERVER_HOST || "127.0.0.1",
    readyPath: "/health/ready",
    onOutput: (text) => process.stdout.write(text),
  });
  shutdown.add(() => api.stop());
  log(`Ignition API ready on ${api.url}  (Ctrl-C to stop)`);
  const code = await api.exited;
  if (!shutdown.stopping) {
    log(`workerd exited with code ${code}`);
    await shutdown.now(1);
  }
}

main().catch(async (err) => {
  console.error(`[start] ${err.message}`);
  process.exit(1);
});
