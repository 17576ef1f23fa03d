// Build and runtime-folder helpers shared by the build, start, bench and test scripts.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = join(ROOT, "dist");
export const RUNTIME = join(ROOT, "build", "runtime");

export function readVersion() {
  return (process.env.VERSION || readFileSync(join(ROOT, "VERSION"), "utf8")).trim();
}

/** Path of the workerd binary that wrangler itself uses, so dev and self-host run the same one. */
export function workerdBinary() {
  const require = createRequire(join(ROOT, "package.json"));
  return require("workerd").default ?? require("workerd");
}

/** `wrangler deploy --dry-run` bundles without network; --outdir keeps the result. */
export async function bundleWorker({ version = readVersion() } = {}) {
  rmSync(DIST, { recursive: true, force: true });
  const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");
  const res = spawnSync(
    wrangler,
    ["deploy", "--dry-run", "--outdir", DIST, "--define", `__APP_VERSION__:${JSON.stringify(version)}`],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } },
  );
  if (res.status !== 0) {
    throw new Error(`wrangler bundle failed:\n${res.stdout}\n${res.stderr}`);
  }
  renameSync(join(DIST, "index.js"), join(DIST, "worker.js"));
  rmSync(join(DIST, "index.js.map"), { force: true });
  return DIST;
}

/** build/runtime = config.capnp + worker.js + VERSION + bin/workerd + entrypoint: the image's /app. */
export async function assembleRuntime({ version = readVersion(), dir = RUNTIME } = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  copyFileSync(join(ROOT, "container", "config.capnp"), join(dir, "config.capnp"));
  copyFileSync(join(DIST, "worker.js"), join(dir, "worker.js"));
  copyFileSync(join(ROOT, "container", "entrypoint.sh"), join(dir, "entrypoint.sh"));
  chmodSync(join(dir, "entrypoint.sh"), 0o755);
  copyFileSync(workerdBinary(), join(dir, "bin", "workerd"));
  chmodSync(join(dir, "bin", "workerd"), 0o755);
  writeFileSync(join(dir, "VERSION"), version + "\n");
  return dir;
}
