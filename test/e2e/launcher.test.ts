import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiProcess } from "../../scripts/lib/api-process.mjs";
import { freePort } from "../../scripts/lib/postgres.mjs";
import { RUNTIME } from "../../scripts/lib/runtime.mjs";
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
