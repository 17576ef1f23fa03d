// No docker engine runs here, so the image is never built in tests: instead the tests start
// build/runtime, and this file checks that the Dockerfile builds that same folder into /app.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readMigrations } from "../../scripts/lib/migrator.mjs";
import { ROOT, RUNTIME, RUNTIME_SOURCES } from "../../scripts/lib/runtime.mjs";
import { adminDatabaseUrl } from "../support/env";
import { createScratchDatabase, dropDatabase } from "../support/database";

interface Instruction {
  op: string;
  args: string;
}

/** Stages of a Dockerfile: continuation lines joined, comments dropped. */
function stages(text: string): Array<{ from: string; name: string | null; body: Instruction[] }> {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const out: Array<{ from: string; name: string | null; body: Instruction[] }> = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!)!;
      out.push({ from: m[1]!, name: m[2] ?? null, body: [] });
    } else {
      out.at(-1)!.body.push({ op: op!.toUpperCase(), args: args! });
    }
  }
  return out;
}

const dockerfile = readFileSync(join(ROOT, "container", "Dockerfile"), "utf8");
const all = stages(dockerfile);
const build = all.find((s) => s.name === "build")!;
const deps = all.find((s) => s.name === "deps")!;
const final = all.at(-1)!;
const ops = (stage: typeof final, op: string) => stage.body.filter((i) => i.op === op).map((i) => i.args);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("container/Dockerfile", () => {
  it("builds on node:20-bookworm-slim and runs the launcher from /app as a non-root user", () => {
    expect(final.from).toBe("node:20-bookworm-slim");
    expect(ops(final, "WORKDIR")).toEqual(["/app"]);
    const user = ops(final, "USER");
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(ops(final, "RUN").join(" ")).toContain(`useradd`);
    expect(ops(final, "EXPOSE")).toEqual(["8080"]);
    expect(JSON.parse(ops(final, "CMD")[0]!)).toEqual(["node", "launch.mjs"]);
  });

  it("has a HEALTHCHECK that uses node (in the image), not curl or wget (not in it)", () => {
    const [check] = ops(final, "HEALTHCHECK");
    expect(check).toMatch(/CMD \["node", "-e", /);
    expect(check).toContain("/health/live");
    expect(check).not.toMatch(/\b(curl|wget)\b/);
  });

  it("assembles /app with the same function as npm run build, from the --build-arg VERSION", () => {
    expect(ops(build, "ARG")).toContain('VERSION=""');
    expect(ops(build, "RUN")).toContain('VERSION="${VERSION}" node scripts/build.mjs');
    expect(ops(final, "COPY")).toContain("--from=build /src/build/runtime/ ./");
    // The migrator's `pg` comes from the production dependencies.
    expect(ops(deps, "RUN").join(" ")).toMatch(/npm ci --omit=dev/);
    expect(ops(final, "COPY")).toContain("--from=deps /src/node_modules/ node_modules/");
  });

  it("copies into the build stage every source the runtime folder and the bundle are made from", () => {
    const copied = ops(build, "COPY").flatMap((args) => args.split(/\s+/).slice(0, -1));
    const isCopied = (path: string) => copied.map((c) => c.replace(/\/$/, "")).some((c) => path === c || path.startsWith(c + "/"));
    const needed = [...RUNTIME_SOURCES.map(([from]) => from), "worker/index.ts", "wrangler.toml", "VERSION", "package-lock.json", "scripts/build.mjs", "scripts/lib/runtime.mjs"];
    for (const path of needed) expect(isCopied(path), `${path} is not COPY'd into the build stage`).toBe(true);
    const ignored = readFileSync(join(ROOT, "container", "Dockerfile.dockerignore"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    for (const path of needed) expect(ignored.some((i) => path === i || path.startsWith(i + "/")), `${path} is excluded by the .dockerignore`).toBe(false);
  });
});

describe("build/runtime (the image's /app)", () => {
  it("holds everything launch.mjs and the migrate service need", () => {
    for (const file of ["launch.mjs", "config.capnp", "worker.js", "VERSION", "bin/workerd", "scripts/migrate.mjs"]) {
      expect(existsSync(join(RUNTIME, file)), file).toBe(true);
    }
    accessSync(join(RUNTIME, "bin", "workerd"), constants.X_OK);
    const shipped = readdirSync(join(RUNTIME, "migrations")).sort();
    expect(shipped).toEqual(readMigrations(join(ROOT, "migrations")).flatMap((m) => [m.downFile, m.file]).sort());
  });

  it("imports nothing but its own files, Node built-ins and production dependencies", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const seen = new Set<string>();
    for (const file of filesUnder(RUNTIME).filter((f) => f.endsWith(".mjs"))) {
      const source = readFileSync(file, "utf8");
      for (const [, spec] of source.matchAll(/(?:^|\n)\s*(?:import\b[^"'\n]*?from\s*|import\s*\(\s*|import\s+)["']([^"']+)["']/g)) {
        const where = `${relative(RUNTIME, file)} imports ${spec}`;
        seen.add(spec!);
        if (spec!.startsWith(".")) {
          // A dynamic import of a checkout-only file must be guarded (migrate.mjs: embedded.mjs).
          if (spec === "./lib/embedded.mjs") continue;
          expect(existsSync(join(dirname(file), spec!)), where).toBe(true);
        } else {
          const ok = spec!.startsWith("node:") || builtinModules.includes(spec!) || spec! in pkg.dependencies;
          expect(ok, where).toBe(true);
        }
      }
    }
    // The scan itself works: it found the migrator's imports.
    expect([...seen]).toEqual(expect.arrayContaining(["pg", "./lib/migrator.mjs", "./sql-split.mjs", "node:child_process"]));
  });

  it("runs the migrate CLI from the folder, and names DATABASE_URL when it is missing", async () => {
    const cli = join(RUNTIME, "scripts", "migrate.mjs");
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const missing = spawnSync(process.execPath, [cli, "status"], { env, encoding: "utf8" });
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe("migrate: DATABASE_URL is not set");

    const url = await createScratchDatabase(adminDatabaseUrl(), "ignition_runtime");
    try {
      const up = spawnSync(process.execPath, [cli, "up"], { env: { ...env, DATABASE_URL: url }, encoding: "utf8" });
      expect(up.status, up.stderr).toBe(0);
      expect(up.stdout).toContain(`applied ${readMigrations(join(ROOT, "migrations"))[0]!.file}`);
    } finally {
      await dropDatabase(adminDatabaseUrl(), url);
    }
  });
});
