#!/usr/bin/env node
// Starts the API the same way in the image (/app) and in build/runtime (tests, bench, npm start).
// workerd runs JavaScript on one thread, so to use several cores this opens ONE listening socket
// and starts WORKERS `workerd serve` processes that all accept on it (--socket-fd): the kernel
// spreads connections over them, and the container still serves a single port.
//
//   WORKERS      number of workerd processes (default: the number of CPUs)
//   SERVER_PORT  listening port (default 8080)    SERVER_HOST  bind address (default 0.0.0.0)
//   INSTANCE_NAME  base of each process's `instance` label (default: the host name), suffixed -N
//
// SIGTERM/SIGINT are forwarded to every process. If one process dies on its own, the others are
// stopped and the launcher exits non-zero, so that the orchestrator restarts the whole container.
// Extra arguments are passed to `workerd serve` (e.g. --verbose).
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const MAX_WORKERS = 64;
// Below docker's default 10 s stop grace period, so we SIGKILL before docker does.
const STOP_TIMEOUT_MS = 8000;
const quiet = ["warn", "error"].includes(process.env.LOG_LEVEL ?? "");

/** One JSON line, like the worker's own log lines, so log shippers read both. */
function log(level, msg, fields = {}) {
  if (level === "info" && quiet) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, component: "launcher", ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}

function fail(msg) {
  log("error", msg);
  process.exit(1);
}

function integer(name, fallback, min, max) {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) fail(`${name}=${raw} is invalid: it must be a whole number from ${min} to ${max}`);
  return n;
}

function listenError(err, host, port) {
  switch (err.code) {
    case "EADDRINUSE":
      return `port ${port} is already in use (${host}:${port}): stop what listens there or set SERVER_PORT`;
    case "EACCES":
      return `no permission to listen on port ${port}: ports below 1024 need root; use SERVER_PORT=8080`;
    case "EADDRNOTAVAIL":
      return `SERVER_HOST=${host} is not an address of this machine`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `SERVER_HOST=${host} cannot be resolved`;
    default:
      return `cannot listen on ${host}:${port}: ${err.message}`;
  }
}

function checkFiles() {
  for (const file of ["bin/workerd", "config.capnp", "worker.js"]) {
    if (!existsSync(join(HERE, file))) fail(`${file} is missing from ${HERE}: build it with npm run build (or rebuild the image)`);
  }
  try {
    accessSync(join(HERE, "bin/workerd"), constants.X_OK);
  } catch {
    fail(`bin/workerd in ${HERE} is not executable`);
  }
}

function main() {
  checkFiles();
  const port = integer("SERVER_PORT", 8080, 1, 65535);
  const host = process.env.SERVER_HOST?.trim() || "0.0.0.0";
  const workers = integer("WORKERS", os.availableParallelism(), 1, MAX_WORKERS);
  const givenName = process.env.INSTANCE_NAME?.trim();
  // Each process keeps its own metrics, so each needs its own `instance` label.
  const instanceName = (i) => (givenName && workers === 1 ? givenName : `${givenName || os.hostname()}-${i}`);

  const children = [];
  let stopping = false;
  let exitCode = 0;

  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    if (running.length === 0) process.exit(exitCode);
    for (const c of running) c.kill(signal);
    setTimeout(() => {
      log("error", `workerd did not stop within ${STOP_TIMEOUT_MS} ms; killing it`);
      for (const c of children) c.kill("SIGKILL");
    }, STOP_TIMEOUT_MS).unref();
  };

  const exited = (i, child, how) => {
    if (child.gone) return;
    child.gone = true;
    if (!stopping) {
      log("error", `workerd ${i} (pid ${child.pid}) ${how}; stopping the others`);
      exitCode = 1;
      stop("SIGTERM");
    }
    if (children.every((c) => c.gone)) process.exit(exitCode);
  };

  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => {
      log("info", `${signal}: stopping ${workers} workerd process(es)`);
      stop(signal);
    });
  }
  // Started by a Node tool (npm start, the tests) with a pipe as stdin: the pipe ends when that
  // tool ends in any way, SIGKILL included, and then so does the API instead of holding the port.
  if (process.env.LAUNCH_STOP_WITH_STDIN === "1") {
    const orphaned = () => {
      if (stopping) return;
      log("info", `the process that started this launcher is gone: stopping ${workers} workerd process(es)`);
      stop("SIGTERM");
    };
    process.stdin.on("end", orphaned).on("close", orphaned).on("error", orphaned).resume();
  }

  const server = net.createServer();
  server.once("error", (err) => fail(listenError(err, host, port)));
  server.listen({ port, host, backlog: 1024 }, () => {
    // Node has no public accessor for a listening socket's descriptor.
    const fd = server._handle?.fd;
    if (typeof fd !== "number" || fd < 0) fail("cannot get the listening socket's file descriptor");
    for (let i = 0; i < workers; i++) {
      const child = spawn(join(HERE, "bin", "workerd"), ["serve", "config.capnp", "--socket-fd", "http=3", ...process.argv.slice(2)], {
        cwd: HERE,
        env: { ...process.env, INSTANCE_NAME: instanceName(i) },
        // fd 3 of each child is the shared listening socket.
        stdio: ["ignore", "inherit", "inherit", fd],
      });
      child.once("error", (err) => exited(i, child, `could not start: ${err.message}`));
      child.once("exit", (code, signal) => exited(i, child, signal ? `was killed by ${signal}` : `exited with code ${code}`));
      children.push(child);
    }
    // The children hold the socket now. Closing our copy in the same tick means the launcher
    // itself never accepts a connection (Node has not polled the socket yet).
    server.close();
    log("info", `serving on http://${host}:${port} with ${workers} workerd process(es)`, { pids: children.map((c) => c.pid) });
  });
}

main();
