// Starts the API from build/runtime exactly as the container does: `node launch.mjs`, which
// starts WORKERS workerd processes on one port (default here: 1, unless env.WORKERS says otherwise).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RUNTIME } from "./runtime.mjs";

/** Pids of the processes whose parent is `pid` (the launcher's workerd children), from /proc. */
export function childPids(pid) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; field 2 (the name) may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Resident memory of a process in bytes (VmRSS), or 0 when it is gone. */
export function rssBytes(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * @returns {Promise<{url: string, port: number, pid: number, workerPids: () => number[], logs: () => string, stop: () => Promise<void>, exited: Promise<number|null>}>}
 */
export async function startApiProcess({ env, port, host = "127.0.0.1", runtimeDir = RUNTIME, onOutput, readyPath = "/health/live", timeoutMs = 30000 }) {
  let output = "";
  const child = spawn(process.execPath, [join(runtimeDir, "launch.mjs")], {
    env: { PATH: process.env.PATH, WORKERS: "1", ...env, SERVER_PORT: String(port), SERVER_HOST: host },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so a launcher that does not stop in time is killed with its children.
    detached: true,
  });
  const killGroup = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
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
    if (!running) throw new Error(`the API exited during start:\n${output}`);
    try {
      const res = await fetch(url + readyPath);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup();
      throw new Error(`the API did not answer ${readyPath} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    port,
    pid: child.pid,
    workerPids: () => childPids(child.pid),
    logs: () => output,
    exited,
    async stop() {
      if (!running) return;
      child.kill("SIGTERM");
      const timer = setTimeout(killGroup, 10000);
      await exited;
      clearTimeout(timer);
    },
  };
}
