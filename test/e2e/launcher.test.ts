import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startApiProcess } from "../../scripts/lib/api-process.mjs";
import { freePort, portAvailable } from "../../scripts/lib/postgres.mjs";
import { ROOT, RUNTIME } from "../../scripts/lib/runtime.mjs";
import { apiEnv } from "../support/env";

/** GET on a new TCP connection each time, so the kernel may hand it to any workerd process. */
function getFresh(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

/** Runs launch.mjs to completion (for start-up failures) and returns its exit code and stderr. */
function launchSync(env: Record<string, string>, runtimeDir = RUNTIME) {
  const res = spawnSync(process.execPath, [join(runtimeDir, "launch.mjs")], {
    env: { PATH: process.env.PATH!, SERVER_HOST: "127.0.0.1", WORKERS: "1", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { status: res.status, stderr: res.stderr };
}

/** Running (not gone, not a zombie). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

describe("launch.mjs: several workerd processes on one port", () => {
  let api: Awaited<ReturnType<typeof startApiProcess>>;
  beforeAll(async () => {
    api = await startApiProcess({ env: { ...apiEnv(), WORKERS: "2", INSTANCE_NAME: "launch-test" }, port: await freePort() });
  });
  afterAll(() => api?.stop());

  it("starts WORKERS processes that all answer on the shared port, each with its own instance name", async () => {
    expect(api.workerPids()).toHaveLength(2);
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      const metrics = await getFresh(api.url + "/metrics");
      seen.add(/instance="([^"]+)"/.exec(metrics)![1]!);
    }
    expect([...seen].sort()).toEqual(["launch-test-0", "launch-test-1"]);
  });

  it("when one process dies, stops the other and exits non-zero", async () => {
    const [victim, other] = api.workerPids();
    process.kill(victim!, "SIGKILL");
    expect(await api.exited).toBe(1);
    expect(api.logs()).toMatch(new RegExp(`workerd \\d \\(pid ${victim}\\) was killed by SIGKILL; stopping the others`));
    expect(alive(other!)).toBe(false);
  });
});

describe("launch.mjs: stopping and start-up failures", () => {
  it("forwards SIGTERM to every process and exits 0 once they are gone", async () => {
    const api = await startApiProcess({ env: { ...apiEnv(), WORKERS: "2" }, port: await freePort() });
    const pids = api.workerPids();
    expect(pids).toHaveLength(2);
    await api.stop();
    expect(await api.exited).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it("names the port when it is already in use", async () => {
    const holder = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => holder.listen(port, "127.0.0.1", r));
    try {
      const res = launchSync({ SERVER_PORT: String(port) });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`port ${port} is already in use`);
    } finally {
      holder.close();
    }
  });

  it("says which file is missing when bin/workerd is not there", () => {
    const dir = mkdtempSync(join(tmpdir(), "ignition-runtime-"));
    try {
      cpSync(RUNTIME, dir, { recursive: true, filter: (src) => !src.includes("/bin") });
      const res = launchSync({ SERVER_PORT: "8089" }, dir);
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`bin/workerd is missing from ${dir}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects an invalid WORKERS value by name", () => {
    const res = launchSync({ WORKERS: "lots", SERVER_PORT: "8089" });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("WORKERS=lots is invalid: it must be a whole number from 1 to 64");
  });
});

describe("startApiProcess: readiness", () => {
  /**
   * Pids of launch.mjs processes from this runtime folder serving `port`, still running (only this
   * test's own: other files start and stop API processes from the same folder meanwhile).
   */
  const launchers = (port: number) =>
    readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return (
            readFileSync(`/proc/${d}/cmdline`, "utf8").includes(join(RUNTIME, "launch.mjs")) &&
            readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(`SERVER_PORT=${port}`) &&
            alive(Number(d))
          );
        } catch {
          return false;
        }
      });

  it("is not fooled by another HTTP server that already answers 200 on the port: it reports the launcher's port conflict", async () => {
    const foreign = http.createServer((_req, res) => res.end('{"status":"ready"}'));
    const port = await freePort();
    await new Promise<void>((r) => foreign.listen(port, "127.0.0.1", r));
    try {
      const started = startApiProcess({ env: apiEnv(), port, readyPath: "/health/ready" });
      await expect(started).rejects.toThrow(/the API launcher exited with code 1 before it was ready:[\s\S]*port \d+ is already in use/);
    } finally {
      foreign.close();
    }
  });

  it("stops waiting as soon as the launcher exits, even when the port's holder accepts and never answers", async () => {
    const silent = net.createServer(() => {}); // accepts connections, never writes a byte
    const port = await freePort();
    await new Promise<void>((r) => silent.listen(port, "127.0.0.1", r));
    try {
      // Longer than the test's own timeout: only the launcher's exit can end the wait in time.
      await expect(startApiProcess({ env: apiEnv(), port, timeoutMs: 600_000 })).rejects.toThrow(`port ${port} is already in use`);
    } finally {
      silent.close();
    }
  });

  it("when readiness never comes, the error quotes the last /health/ready answer and the launcher is gone", async () => {
    const env = { ...apiEnv(), STORAGE_ENDPOINT: "http://127.0.0.1:9", LOG_LEVEL: "error" };
    const port = await freePort();
    let seenRunning = 0;
    const watch = setInterval(() => (seenRunning = Math.max(seenRunning, launchers(port).length)), 100);
    const err = await startApiProcess({ env, port, readyPath: "/health/ready", timeoutMs: 2000 }).catch((e: Error) => e);
    clearInterval(watch);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/did not answer \/health\/ready with 200 within 2000 ms; its last answer: 503 \{.*"storage":\{"status":"fail"/);
    expect(seenRunning).toBe(1); // the check below does see this test's launcher while it runs
    expect(launchers(port)).toEqual([]);
  });

  it("the API stops when the tool that started it is killed (SIGKILL), instead of holding the port", async () => {
    const port = await freePort();
    const script = `
      import { startApiProcess } from ${JSON.stringify(join(ROOT, "scripts", "lib", "api-process.mjs"))};
      const api = await startApiProcess({ env: JSON.parse(process.env.API_ENV), port: ${port} });
      console.log(JSON.stringify({ launcher: api.pid, workers: api.workerPids() }));
      setInterval(() => {}, 1000);`;
    const tool = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, API_ENV: JSON.stringify({ ...apiEnv(), LOG_LEVEL: "error" }) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    onTestFinished(() => void tool.kill("SIGKILL")); // also when an assertion fails first
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      tool.stdout!.on("data", (c) => {
        out += c;
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      tool.once("exit", (code) => reject(new Error(`the tool exited (${code}) before the API was ready`)));
    });
    const { launcher, workers } = JSON.parse(line) as { launcher: number; workers: number[] };
    expect([launcher, ...workers].every(alive)).toBe(true);
    tool.kill("SIGKILL");
    for (let i = 0; i < 200 && [launcher, ...workers].some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    expect([launcher, ...workers].filter(alive)).toEqual([]);
    expect(await portAvailable(port)).toBe(true);
  });

  it("hands out its stop() at spawn time, so a caller can stop the launcher while it waits", async () => {
    let stop: (() => Promise<void>) | undefined;
    const env = { ...apiEnv(), STORAGE_ENDPOINT: "http://127.0.0.1:9", LOG_LEVEL: "error" };
    const started = startApiProcess({ env, port: await freePort(), readyPath: "/health/ready", timeoutMs: 600_000, onSpawn: (s) => (stop = s) });
    const outcome = started.then(() => "ready", (e: Error) => e.message);
    expect(stop).toBeTypeOf("function");
    await stop!();
    expect(await outcome).toMatch(/the API launcher (exited with code 0|was killed by SIGTERM) before it was ready/);
  });
});
