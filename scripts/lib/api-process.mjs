// Starts the API from build/runtime exactly as the container's entrypoint does.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { RUNTIME } from "./runtime.mjs";

/**
 * @returns {Promise<{url: string, port: number, logs: () => string, stop: () => Promise<void>, exited: Promise<number|null>}>}
 */
export async function startApiProcess({ env, port, host = "127.0.0.1", runtimeDir = RUNTIME, onOutput, readyPath = "/health/live", timeoutMs = 30000 }) {
  let output = "";
  const child = spawn(join(runtimeDir, "entrypoint.sh"), [], {
    env: { PATH: process.env.PATH, ...env, SERVER_PORT: String(port), SERVER_HOST: host },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const onData = (chunk) => {
    const text = chunk.toString();
    output += text;
    if (output.length > 4_000_000) output = output.slice(-2_000_000);
    onOutput?.(text);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://${host}:${port}`;

  const deadline = Date.now() + timeoutMs;
  let running = true;
  exited.then(() => (running = false));
  for (;;) {
    if (!running) throw new Error(`workerd exited during start:\n${output}`);
    try {
      const res = await fetch(url + readyPath);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the API did not answer ${readyPath} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    port,
    pid: child.pid,
    logs: () => output,
    exited,
    async stop() {
      if (!running) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
