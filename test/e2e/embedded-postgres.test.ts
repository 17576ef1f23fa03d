// scripts/lib/postgres.mjs: start-up failures that must say what to do and must not break the
// next start (a half-made data directory, a server left running by an earlier start, a taken port).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { EmbeddedPostgres, freePort, portAvailable } from "../../scripts/lib/postgres.mjs";
import { withClient } from "../support/database";

const isRoot = process.getuid?.() === 0;

/** Whether process `p` runs (not gone, not a zombie waiting to be reaped). */
const alive = (p: number | string) => {
  try {
    return !readFileSync(`/proc/${p}/stat`, "utf8").includes(") Z ");
  } catch {
    return false; // gone (also between a check and the read)
  }
};

describe("EmbeddedPostgres", () => {
  let dir: string;
  const servers: EmbeddedPostgres[] = [];
  const make = async (dataDir: string, portVariable?: string) => {
    const pg = new EmbeddedPostgres({ dataDir, port: await freePort(), portVariable });
    servers.push(pg);
    return pg;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ignition-embedded-pg-"));
    chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user when we are root
  });
  afterAll(async () => {
    for (const pg of servers) await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts in an existing empty data directory (made by hand, or left by a failed initdb)", async () => {
    const dataDir = join(dir, "empty");
    mkdirSync(dataDir);
    const pg = await make(dataDir);
    await pg.start();
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true);
    expect(await withClient(pg.url(), async (c) => (await c.query("SELECT 1 AS one")).rows[0].one)).toBe(1);
  });

  it("says so when an earlier start still runs PostgreSQL on the same data directory, whatever the port", async () => {
    const first = await make(join(dir, "running"));
    await first.start();
    const pid = first.child!.pid!;
    const second = await make(first.dataDir, "EMBEDDED_PG_PORT");
    await expect(second.start()).rejects.toThrow(`still running on ${first.dataDir} (pid ${pid}): stop it with kill -INT ${pid}`);
    expect(second.child).toBeNull();
  });

  it("stops when the process that started it is killed outright (SIGKILL), freeing the data directory and the port", async () => {
    const dataDir = join(dir, "orphan");
    const port = await freePort();
    const script = `
      import { EmbeddedPostgres } from ${JSON.stringify(new URL("../../scripts/lib/postgres.mjs", import.meta.url).pathname)};
      const pg = new EmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port} });
      await pg.start();
      console.log(pg.child.pid);
      setInterval(() => {}, 1000);`;
    const tool = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    onTestFinished(() => void tool.kill("SIGKILL")); // also when an assertion fails first
    const pid = Number(await new Promise<string>((resolve, reject) => {
      let out = "";
      tool.stdout!.on("data", (c) => {
        out += c;
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      tool.once("exit", (code) => reject(new Error(`the tool exited (${code}) before PostgreSQL was ready`)));
    }));
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("postgres");
    expect(alive(pid)).toBe(true);
    tool.kill("SIGKILL");
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dataDir, "postmaster.pid"))).toBe(false); // a clean shutdown, not a crash
    expect(await portAvailable(port, "127.0.0.1")).toBe(true);
    // The next start needs no manual clean-up.
    const next = await make(dataDir);
    await next.start();
    expect(await withClient(next.url(), async (c) => (await c.query("SELECT 1 AS one")).rows[0].one)).toBe(1);
  });

  it("leaves nothing behind when the server stops on its own (its watcher ends with it)", async () => {
    const dataDir = join(dir, "ends-alone");
    const pg = await make(dataDir);
    await pg.start();
    const ours = () =>
      readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dataDir) && alive(p);
        } catch {
          return false; // gone
        }
      });
    expect(ours().length).toBeGreaterThanOrEqual(2); // the postmaster and its watcher
    const exited = new Promise((resolve) => pg.child!.once("exit", resolve));
    process.kill(pg.child!.pid!, "SIGINT"); // stopped from outside, not by stop()
    await exited;
    for (let i = 0; i < 100 && ours().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(ours()).toEqual([]);
  });

  it("names the port variable when the port is taken", async () => {
    const holder = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => holder.listen(port, "127.0.0.1", r));
    try {
      const pg = new EmbeddedPostgres({ dataDir: join(dir, "never"), port, portVariable: "EMBEDDED_PG_PORT" });
      await expect(pg.start()).rejects.toThrow(`port ${port} is already in use`);
      await expect(pg.start()).rejects.toThrow("set EMBEDDED_PG_PORT to a free port");
      expect(existsSync(join(dir, "never"))).toBe(false);
    } finally {
      holder.close();
    }
  });

  it.runIf(isRoot)("as root, names the directory the postgres user cannot enter, and starts once it can", async () => {
    const closed = join(dir, "closed");
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    const dataDir = join(closed, "state", "postgres-17");
    const pg = await make(dataDir);
    await expect(pg.start()).rejects.toThrow(new RegExp(`postgres user \\(uid \\d+\\), which cannot enter ${closed} \\(mode 0700`));
    // Nothing half-made is left that would break the next start.
    expect(readdirSync(closed)).toEqual([]);
    chmodSync(closed, 0o755);
    await pg.start();
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true);
  });
});
