// Starts the API from build/runtime exactly as the container does: `node launch.mjs`, which
// starts WORKERS workerd processes on one port (default here: 1, unless env.WORKERS says otherwise).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RUNTIME } from "./runtime.mjs";

/** Pids of the processes whose parent is `pid` (the launcher's workerd children), from /proc. */
function childPids(pid) {
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

/** The last `lines` lines of a process's output, for error messages. */
function tail(text, lines = 40) {
  const all = text.trimEnd().split("\n");
  return all.length <= lines ? all.join("\n") : `… (${all.length - lines} earlier lines)\n` + all.slice(-lines).join("\n");
}

const PROBE_TIMEOUT_MS = 2000;

/**
 * Starts `node launch.mjs` and waits until `readyPath` answers 200. The answer only counts once the
 * launcher has bound the port (it starts workerd only after that, and exits when the port is
 * taken), so a server that already listens there is never mistaken for ours. Each probe has its
 * own short timeout, and the wait ends as soon as the launcher exits.
 *
 * `onSpawn(stop)` is called right after the launcher is spawned, so that a caller's Ctrl-C during
 * the wait can stop it; the same stop() is returned once the API is ready.
 *
 * @returns {Promise<{url: string, port: number, pid: number, workerPids: () => number[], logs: () => string, stop: () => Promise<void>, exited: Promise<number|null>}>}
 */
export async function startApiProcess({ env, port, host = "127.0.0.1", runtimeDir = RUNTIME, onOutput, onSpawn, readyPath = "/health/live", timeoutMs = 30000 }) {
  let output = "";
  const child = spawn(process.execPath, [join(runtimeDir, "launch.mjs")], {
    env: { PATH: process.env.PATH, WORKERS: "1", ...env, SERVER_PORT: String(port), SERVER_HOST: host, LAUNCH_STOP_WITH_STDIN: "1" },
    // stdin is a pipe only so that the launcher notices when this process is gone (see launch.mjs).
    stdio: ["pipe", "pipe", "pipe"],
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
  let running = true;
  let exitReason = "";
  let spawnError = null;
  const exited = new Promise((resolve) => {
    child.once("error", (err) => {
      // spawn failed: no "exit" event follows
      spawnError = err;
      running = false;
      exitReason = `could not start: ${err.message}`;
      resolve(null);
    });
    child.once("exit", (code, signal) => {
      running = false;
      exitReason = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      resolve(code);
    });
  });
  const closed = new Promise((resolve) => child.once("close", resolve));
  const stop = async () => {
    if (!running) return;
    child.kill("SIGTERM");
    const timer = setTimeout(killGroup, 10000);
    await exited;
    clearTimeout(timer);
  };
  onSpawn?.(stop);
  const url = `http://${host}:${port}`;

  const deadline = Date.now() + timeoutMs;
  // The last answer (status and body: the readiness checks say what is wrong), else why none came.
  let lastAnswer = null;
  let lastFailure = "nothing answered";
  const gone = exited.then(() => "exited");
  for (;;) {
    if (!running) break;
    // The launcher starts workerd only once it holds the port; before that, whatever answers on
    // the port is not us.
    if (childPids(child.pid).length > 0) {
      const probe = (async () => {
        try {
          const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
          const body = await res.text();
          lastAnswer = `${res.status} ${body.slice(0, 4000)}`;
          return res.ok ? "ready" : "not ready";
        } catch (err) {
          lastFailure = err?.name === "TimeoutError" ? `no answer within ${PROBE_TIMEOUT_MS} ms` : `cannot connect (${err?.cause?.code ?? err?.message})`;
          return "not ready";
        }
      })();
      // Only our launcher's workerd answers: it still runs (the answer raced its exit).
      if ((await Promise.race([probe, gone])) === "ready" && running) break;
    }
    if (!running) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `the API did not answer ${readyPath} with 200 within ${timeoutMs} ms; ${lastAnswer ? `its last answer: ${lastAnswer}` : lastFailure}\n` +
          `launcher output (last lines):\n${tail(output) || "(none)"}`,
      );
    }
    await Promise.race([new Promise((r) => setTimeout(r, 100)), gone]);
  }
  if (!running) {
    // Let the pipes deliver the launcher's last lines (its error) before quoting them.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    throw new Error(`the API launcher ${exitReason} before it was ready:\n${tail(output) || "(no output)"}`, spawnError ? { cause: spawnError } : undefined);
  }

  return {
    url,
    port,
    pid: child.pid,
    workerPids: () => childPids(child.pid),
    logs: () => output,
    exited,
    stop,
  };
}
