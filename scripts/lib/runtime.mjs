// Build and runtime-folder helpers shared by the build, start, bench and test scripts.
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readMigrations } from "./migrator.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = join(ROOT, "dist");
export const RUNTIME = join(ROOT, "build", "runtime");

/** The VERSION file, or $VERSION (the image's --build-arg); it becomes the image tag, so same rules. */
export function readVersion() {
  const version = (process.env.VERSION || readFileSync(join(ROOT, "VERSION"), "utf8")).trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(version)) {
    throw new Error(`VERSION "${version}" is not a valid image tag (letters, digits, . _ -; e.g. v1.0.0, v1.0.0-rc1, main-abc123f)`);
  }
  return version;
}

/** Path of the workerd binary that wrangler itself uses, so dev and self-host run the same one. */
export function workerdBinary() {
  const require = createRequire(join(ROOT, "package.json"));
  return require("workerd").default ?? require("workerd");
}

/**
 * Values baked into the bundle (worker/version.ts, worker/db/schema-version.ts): the version, and
 * the migrations (NNNN_name) this build expects the database to have, for the readiness check.
 */
export function bundleDefines({ version = readVersion(), migrationsDir = join(ROOT, "migrations") } = {}) {
  const migrations = readMigrations(migrationsDir).map((m) => `${String(m.version).padStart(4, "0")}_${m.name}`);
  return [
    "--define", `__APP_VERSION__:${JSON.stringify(version)}`,
    "--define", `__APP_MIGRATIONS__:${JSON.stringify(migrations)}`,
  ];
}

/** `wrangler deploy --dry-run` bundles without network; --outdir keeps the result. */
export async function bundleWorker({ version = readVersion() } = {}) {
  rmSync(DIST, { recursive: true, force: true });
  const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");
  const res = spawnSync(
    wrangler,
    ["deploy", "--dry-run", "--outdir", DIST, ...bundleDefines({ version })],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } },
  );
  if (res.status !== 0) {
    throw new Error(`wrangler bundle failed:\n${res.stdout}\n${res.stderr}`);
  }
  renameSync(join(DIST, "index.js"), join(DIST, "worker.js"));
  rmSync(join(DIST, "index.js.map"), { force: true });
  return DIST;
}

/**
 * Files copied from the checkout into the runtime folder, [from, to]. With worker.js (the bundle),
 * VERSION and bin/workerd this is the image's /app: container/Dockerfile runs this same function
 * in its build stage and copies the folder, plus the production node_modules (for `pg`).
 */
export const RUNTIME_SOURCES = [
  ["container/config.capnp", "config.capnp"],
  ["container/launch.mjs", "launch.mjs"],
  // The compose `migrate` service runs `node scripts/migrate.mjs up` from the image.
  ["scripts/migrate.mjs", "scripts/migrate.mjs"],
  ["scripts/lib/migrator.mjs", "scripts/lib/migrator.mjs"],
  ["scripts/lib/sql-split.mjs", "scripts/lib/sql-split.mjs"],
  ["scripts/lib/database-url.mjs", "scripts/lib/database-url.mjs"],
  // The role CLI, to make the first admin: docker compose run --rm migrate node scripts/admin.mjs …
  ["scripts/admin.mjs", "scripts/admin.mjs"],
  ["migrations", "migrations"],
];

/** build/runtime: the image's /app (see RUNTIME_SOURCES), started by `node launch.mjs`. */
export async function assembleRuntime({ version = readVersion(), dir = RUNTIME } = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  for (const [from, to] of RUNTIME_SOURCES) {
    mkdirSync(dirname(join(dir, to)), { recursive: true });
    cpSync(join(ROOT, from), join(dir, to), { recursive: true });
  }
  copyFileSync(join(DIST, "worker.js"), join(dir, "worker.js"));
  copyFileSync(workerdBinary(), join(dir, "bin", "workerd"));
  chmodSync(join(dir, "bin", "workerd"), 0o755);
  writeFileSync(join(dir, "VERSION"), version + "\n");
  return dir;
}
