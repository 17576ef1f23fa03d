// scripts/start.mjs (npm start): settings and ports are checked before anything starts, and a
// failed or interrupted start, or a closed terminal, leaves nothing running. It runs from a copy of
// the checkout, because it rebuilds dist/ and build/runtime/, which the other tests run from.
// scripts/dev.mjs (npm run dev): --port is given to wrangler once and names the public URL.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePort, portAvailable } from "../../scripts/lib/postgres.mjs";
import { ROOT } from "../../scripts/lib/runtime.mjs";
import { databaseUrl, storage } from "../support/env";

let root: string;
let tree: string;
let state: string;

/** Live processes that belong to this test's copy or state directory (by command line or cwd). */
function leftovers(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))) continue; // gone, not yet reaped
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      let cwd = "";
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // not ours to read
      }
      if (cmdline.includes(root) || cwd.startsWith(root)) found.push(`${pid} ${cmdline}`);
    } catch {
      // ended while we looked
    }
  }
  return found;
}

interface Run {
  child: ChildProcess;
  output: () => string;
  waitFor: (text: string) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** node scripts/<script> in the copy, as the leader of its own process group (like a shell job). */
function run(script: string, env: Record<string, string>, args: string[] = [], cwd = tree): Run {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k === "DATABASE_URL" || k.startsWith("STORAGE_")) delete base[k];
  const child = spawn(process.execPath, [join("scripts", script), ...args], {
    cwd,
    env: { ...base, IGNITION_STATE_DIR: state, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const w of waiters.filter((w) => output.includes(w.text))) w.resolve();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    exited,
    waitFor: (text) =>
      output.includes(text)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ text, resolve })),
            exited.then(({ code, signal }) => {
              throw new Error(`${script} ended (${signal ?? code}) before printing "${text}":\n${output}`);
            }),
          ]),
  };
}

const start = (env: Record<string, string>, cwd = tree) => run("start.mjs", env, [], cwd);

async function ports() {
  return { SERVER_PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()), EMBEDDED_S3_PORT: String(await freePort()) };
}

let runs = 0;
beforeEach(() => {
  // A state directory per test, so that what one test leaves behind cannot fail the next.
  state = join(root, `state-${++runs}`);
});

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "ignition-start-"));
  chmodSync(root, 0o755); // PostgreSQL runs as the postgres user when we are root
  tree = join(root, "tree");
  for (const entry of ["worker", "scripts", "container", "migrations", "package.json", "wrangler.toml", "VERSION", "tsconfig.json"]) {
    cpSync(join(ROOT, entry), join(tree, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
});

afterAll(() => {
  // Whatever a failed test left behind (the assertions below say when that happened).
  for (const line of leftovers()) {
    try {
      process.kill(Number(line.split(" ")[0]), "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

describe("npm start (scripts/start.mjs)", () => {
  it("refuses SERVER_PORT=abc at once, quoting what was typed, and starts nothing", async () => {
    const run = start({ ...(await ports()), SERVER_PORT: "abc" });
    const { code } = await run.exited;
    expect(run.output()).toContain("[start] SERVER_PORT=abc is invalid: it must be a whole number from 1 to 65535");
    expect(code).toBe(1);
    expect(run.output()).not.toContain("bundling");
    expect(existsSync(join(state, "postgres-17"))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it("refuses a SERVER_PORT that is taken (even by a listener that never answers) before starting PostgreSQL", async () => {
    const p = await ports();
    const holder = net.createServer(() => {});
    await new Promise<void>((r) => holder.listen(Number(p.SERVER_PORT), "127.0.0.1", r));
    try {
      const run = start(p);
      const { code } = await run.exited;
      expect(run.output()).toContain(`port ${p.SERVER_PORT} is already in use (127.0.0.1:${p.SERVER_PORT}): stop what listens there or set SERVER_PORT`);
      expect(code).toBe(1);
      expect(run.output()).not.toContain("starting PostgreSQL");
      expect(leftovers()).toEqual([]);
    } finally {
      holder.close();
    }
  });

  it("when the API fails to start after PostgreSQL is up, stops PostgreSQL and exits 1 with the launcher's reason", async () => {
    // A copy whose config.capnp workerd cannot parse: the launcher starts, then exits 1.
    const broken = join(root, "broken-tree");
    cpSync(tree, broken, { recursive: true, verbatimSymlinks: true });
    appendFileSync(join(broken, "container", "config.capnp"), "\nthis is not capnp\n");
    const p = await ports();
    const run = start(p, broken);
    const { code } = await run.exited;
    expect(run.output()).toContain("starting PostgreSQL");
    expect(leftovers()).toEqual([]);
    expect(await portAvailable(Number(p.EMBEDDED_PG_PORT))).toBe(true);
    expect(code).toBe(1);
    expect(run.output()).toContain("[start] the API launcher exited with code 1 before it was ready:");
    expect(run.output()).toContain("Parse error");
  }, 60_000);

  it("SIGTERM while PostgreSQL starts stops it, and exits 143 (the start was interrupted)", async () => {
    const p = await ports();
    const run = start(p);
    await run.waitFor("starting PostgreSQL");
    process.kill(run.child.pid!, "SIGTERM"); // to node alone, as docker or systemd would
    const { code } = await run.exited;
    expect(code).toBe(143);
    expect(leftovers()).toEqual([]);
    expect(await portAvailable(Number(p.EMBEDDED_PG_PORT))).toBe(true);
  }, 60_000);

  it("once ready: a second start on the same state directory names the PostgreSQL still running; closing the terminal (SIGHUP) stops everything", async () => {
    const p = await ports();
    const run = start(p);
    await run.waitFor("Ignition API ready");
    expect((await fetch(`http://127.0.0.1:${p.SERVER_PORT}/health/ready`)).status).toBe(200);
    const pid = Number(readFileSync(join(state, "postgres-17", "postmaster.pid"), "utf8").split("\n")[0]);

    const second = start(await ports());
    const { code: secondCode } = await second.exited;

    process.kill(-run.child.pid!, "SIGHUP"); // the terminal closing signals the whole job
    const { code, signal } = await run.exited;
    expect(leftovers()).toEqual([]);
    expect(await portAvailable(Number(p.SERVER_PORT))).toBe(true);
    expect(await portAvailable(Number(p.EMBEDDED_PG_PORT))).toBe(true);
    expect({ code, signal }).toEqual({ code: 0, signal: null });

    expect(secondCode).toBe(1);
    expect(second.output()).toContain(`a PostgreSQL from an earlier start is still running on ${join(state, "postgres-17")} (pid ${pid}): stop it with kill -INT ${pid}`);
  }, 60_000);
});

describe("npm run dev (scripts/dev.mjs)", () => {
  it("refuses --port abc before starting anything", async () => {
    const dev = run("dev.mjs", await ports(), ["--port", "abc"]);
    const { code } = await dev.exited;
    expect(dev.output()).toContain("[dev] --port abc is invalid: it must be a whole number from 1 to 65535");
    expect(code).toBe(1);
    expect(dev.output()).not.toContain("starting PostgreSQL");
    expect(leftovers()).toEqual([]);
  });

  it("--port N: wrangler gets one --port, the public URL names it, the environment's settings reach the worker, other arguments pass through; SIGTERM stops it all", async () => {
    const port = await freePort();
    const { directory: _, ...storageVars } = storage();
    // The test database and S3 server from the environment: no embedded services, only wrangler.
    const dev = run("dev.mjs", { ...storageVars, DATABASE_URL: databaseUrl(), SERVER_PORT: String(await freePort()) }, ["--port", String(port), "--ip", "127.0.0.1"]);
    try {
      // wrangler dev prints its own "Ready on" line; then the worker must answer.
      await dev.waitFor(`Ready on http://127.0.0.1:${port}`);
      const ready = await (await fetch(`http://127.0.0.1:${port}/health/ready`)).json();
      expect(ready.checks.storage.status).toBe("ok"); // STORAGE_* from the environment, not "disabled"
      const wrangler = leftovers().find((l) => / dev --port /.test(l))!;
      expect(wrangler.match(/ --port /g)).toHaveLength(1);
      expect(wrangler).toContain(`--port ${port} `);
      expect(wrangler).toContain(`--var SERVER_PUBLIC_URL:http://localhost:${port} `);
      expect(wrangler).toContain("--var LOG_LEVEL:warn ");
    } finally {
      process.kill(dev.child.pid!, "SIGTERM");
    }
    expect(await dev.exited).toEqual({ code: 0, signal: null });
    expect(leftovers()).toEqual([]);
  }, 60_000);

  it("refuses a port that is taken before starting anything", async () => {
    const p = await ports();
    const holder = net.createServer(() => {});
    const port = await freePort();
    await new Promise<void>((r) => holder.listen(port, "127.0.0.1", r));
    try {
      const dev = run("dev.mjs", p, ["--port", String(port)]);
      const { code } = await dev.exited;
      expect(dev.output()).toContain(`port ${port} is already in use (127.0.0.1:${port}): stop what listens there, or use --port N or SERVER_PORT`);
      expect(code).toBe(1);
      expect(dev.output()).not.toContain("starting PostgreSQL");
      expect(leftovers()).toEqual([]);
    } finally {
      holder.close();
    }
  });

  it("wrangler stops when npm run dev is killed outright (SIGKILL), instead of serving on without its services", async () => {
    const port = await freePort();
    const { directory: _, ...storageVars } = storage();
    const dev = run("dev.mjs", { ...storageVars, DATABASE_URL: databaseUrl() }, ["--port", String(port), "--ip", "127.0.0.1"]);
    await dev.waitFor(`Ready on http://127.0.0.1:${port}`);
    expect(leftovers().some((l) => / dev --port /.test(l))).toBe(true);
    process.kill(dev.child.pid!, "SIGKILL"); // node alone, not its process group
    for (let i = 0; i < 200 && leftovers().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(leftovers()).toEqual([]);
    expect(await portAvailable(port)).toBe(true);
  }, 60_000);
});
