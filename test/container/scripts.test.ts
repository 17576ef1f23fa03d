// deploy.sh, rollback.sh and health-check.sh, run for real with a stand-in `docker` on PATH that
// records its calls; the health checks go to the real API the test harness started.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/postgres.mjs";
import { ROOT } from "../../scripts/lib/runtime.mjs";
import { productionEnv, startApi } from "../support/api";
import { apiUrl, databaseUrl, version } from "../support/env";

const SCRIPTS = join(ROOT, "container", "scripts");
const work = mkdtempSync(join(tmpdir(), "ignition-deploy-"));
const bin = join(work, "bin");
mkdirSync(bin);
copyFileSync(join(ROOT, "test", "container", "stand-in-docker.sh"), join(bin, "docker"));
chmodSync(join(bin, "docker"), 0o755);
// The scripts' waits, recorded among the docker calls instead of slept; but the pause between
// health checks (HEALTH_INTERVAL) is slept for real and not recorded: a retry against the real API
// is timing, not part of the call sequence.
writeFileSync(
  join(bin, "sleep"),
  '#!/usr/bin/env bash\nif [[ "$*" == "$HEALTH_INTERVAL" ]]; then exec /bin/sleep "$1"; fi\nprintf \'sleep %s\\n\' "$*" >> "$DOCKER_LOG"\n',
);
chmodSync(join(bin, "sleep"), 0o755);
const envFile = join(work, ".env");
writeFileSync(envFile, "POSTGRES_PASSWORD=x\n");
const log = join(work, "docker.log");
const backups = join(work, "backups");
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(script: string, args: string[], env: Record<string, string> = {}, input?: string) {
  const res = spawnSync("bash", [join(SCRIPTS, script), ...args], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      DOCKER_LOG: log,
      ENV_FILE: envFile,
      BACKUP_DIR: backups,
      FAKE_PROXY_PORT: new URL(apiUrl()).port,
      HEALTH_INTERVAL: "0.1",
      HEALTH_RETRIES: "3",
      ...env,
    },
    input: input ?? "",
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: res.status, out: res.stdout + res.stderr };
}

/** The recorded docker calls, without the `compose -f <file> --env-file <file>` prefix. */
function calls(): string[] {
  let text = "";
  try {
    text = readFileSync(log, "utf8");
  } catch {
    return [];
  }
  return text.trim().split("\n").filter(Boolean).map((l) => l.replace(/ compose -f \S+ --env-file \S+ /, " compose "));
}
const indexOf = (list: string[], part: string) => list.findIndex((c) => c.includes(part));
/** The calls from the script's look at the running api containers on. */
const fromRollout = () => calls().slice(indexOf(calls(), "compose ps -q api"));

/** The docker calls of a rolling replacement of the running containers `old` by version `v`'s, through the health check. */
const rolloutCalls = (v: string, old: string[]) => [
  `IMAGE_TAG=${v} compose ps -q api`,
  `IMAGE_TAG=${v} compose version --short`,
  `IMAGE_TAG=${v} compose ps -a -q api`,
  `IMAGE_TAG=${v} compose up -d --no-deps --no-recreate --scale api=${2 * old.length} api`,
  `IMAGE_TAG=${v} compose ps -a -q api`,
  // Each new container must answer /health/ready with this version before any old one stops.
  ...old.map((id) => `IMAGE_TAG=${v} exec new-${id} node -e ${check} ${v}`),
  // The proxy re-resolves the replicas every 5 s: it must know the new ones before the old go.
  "sleep 6",
  `IMAGE_TAG=${v} stop ${old.join(" ")}`,
  `IMAGE_TAG=${v} rm ${old.join(" ")}`,
  // As many replicas as the compose file says (API_REPLICAS), then the proxy as it says.
  `IMAGE_TAG=${v} compose up -d --no-deps --no-recreate api`,
  `IMAGE_TAG=${v} compose up -d --no-deps --remove-orphans proxy`,
  `IMAGE_TAG=${v} compose port proxy 8080`,
];

/**
 * A rolling replacement that gave up: it ended by stopping (so their requests finish) and removing
 * the new containers `removed`, and never stopped or removed an old one.
 */
function expectOnlyNewRemoved(v: string, removed: string[], old: string[]): void {
  const c = calls();
  expect(c.slice(-2)).toEqual([`IMAGE_TAG=${v} stop ${removed.join(" ")}`, `IMAGE_TAG=${v} rm -f ${removed.join(" ")}`]);
  for (const id of old) expect(c.filter((l) => new RegExp(` (stop|rm)( -f)? (.* )?${id}( |$)`).test(l))).toEqual([]);
}

/** The readiness check the rolling replacement runs in each new api container (node -e, inside it). */
const check = /local check='([^']+)'/.exec(readFileSync(join(SCRIPTS, "common.sh"), "utf8"))![1]!;

/** The readiness check's exit status against the API at `base` (the container's own :8080 there). */
function probe(base: string, expected: string): number | null {
  const script = check.replace("http://127.0.0.1:8080", base);
  expect(script).not.toBe(check); // it names the container's own address
  return spawnSync(process.execPath, ["-e", script, expected], { timeout: 10_000 }).status;
}

/** A folder with only these tools (symlinks), to run a script on a PATH that lacks the others. */
function tools(name: string, names: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const tool of names) {
    const path = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    symlinkSync(path, join(dir, tool));
  }
  return dir;
}

beforeEach(() => {
  rmSync(log, { force: true });
  rmSync(backups, { recursive: true, force: true });
});

describe("the rolling replacement's readiness check", () => {
  it("exits 0 for the expected version, 1 for another or for no answer, 2 for an invalid configuration", async () => {
    expect(probe(apiUrl(), version())).toBe(0);
    expect(probe(apiUrl(), "v0.0.0-other")).toBe(1);
    expect(probe(`http://127.0.0.1:${await freePort()}`, version())).toBe(1);
    // A production configuration without a valid secret: readiness says so, and waiting will not mend it.
    const broken = await startApi({ ...productionEnv(databaseUrl()), SESSION_SECRET: "too-short" });
    try {
      expect(probe(broken.url, version())).toBe(2);
    } finally {
      await broken.stop();
    }
  });
});

describe("deploy.sh", () => {
  it("backs up, migrates, starts the version and waits for it to be healthy", () => {
    const v = version();
    const res = run("deploy.sh", [v, "--migrate"], { FAKE_CURRENT_TAG: "v0.0.9", FAKE_IMAGE_VERSION: v });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain(`[deploy] expecting version ${v} (/app/VERSION in ignition-api:${v})`);
    expect(res.out).toContain(`healthy: ${apiUrl()}/health/ready answered 200 (version ${v})`);
    expect(res.out).toContain(`[deploy] deployed ${v}`);
    const c = calls();
    expect(c).toEqual([
      "IMAGE_TAG= compose version",
      "IMAGE_TAG= compose ps -a -q api",
      "IMAGE_TAG= inspect --format {{.Config.Image}} 0123456789ab",
      `IMAGE_TAG=${v} compose config --images api`,
      `IMAGE_TAG=${v} image inspect ignition-api:${v}`,
      `IMAGE_TAG=${v} run --rm --entrypoint cat ignition-api:${v} /app/VERSION`,
      `IMAGE_TAG=${v} compose up -d postgres`,
      `IMAGE_TAG=${v} compose exec -T postgres sh -c pg_isready -q -U "$POSTGRES_USER" -d "$POSTGRES_DB"`,
      `IMAGE_TAG=${v} compose exec -T postgres sh -c pg_dump --no-owner -U "$POSTGRES_USER" -d "$POSTGRES_DB"`,
      `IMAGE_TAG=${v} compose run --rm -T migrate node scripts/migrate.mjs up`,
      // No api container is running: nothing to replace, the whole project starts.
      `IMAGE_TAG=${v} compose ps -q api`,
      `IMAGE_TAG=${v} compose up -d --remove-orphans`,
      `IMAGE_TAG=${v} compose port proxy 8080`,
    ]);
    const [backup] = readdirSync(backups);
    expect(backup).toMatch(new RegExp(`^pre-deploy_${v.replace(/\./g, "\\.")}_\\d{8}T\\d{6}Z\\.sql$`));
    expect(readFileSync(join(backups, backup!), "utf8")).toContain("CREATE TABLE public.users");
  });

  const rollout = { FAKE_CURRENT_TAG: "v0.0.9", FAKE_IMAGE_VERSION: version() };

  it("replaces running api containers without a gap: new ones start beside them, the old stop once every new one is ready", () => {
    const v = version();
    const res = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1 old2" });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain(`[deploy] starting 2 new api container(s) with ignition-api:${v} next to the 2 running`);
    expect(res.out).toContain("[deploy] new api container(s) ready; letting the proxy see them for 6 s");
    expect(res.out).toContain(`[deploy] deployed ${v}`);
    expect(fromRollout()).toEqual(rolloutCalls(v, ["old1", "old2"]));
  });

  it("removes stopped api containers first: they would count towards --scale and come back with the old image", () => {
    const v = version();
    const res = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1", FAKE_STOPPED: "dead1" });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain("[deploy] removing 1 stopped api container(s)");
    const c = fromRollout();
    expect(c.indexOf(`IMAGE_TAG=${v} rm -f dead1`)).toBeGreaterThan(-1);
    expect(c.indexOf(`IMAGE_TAG=${v} rm -f dead1`)).toBeLessThan(indexOf(c, "--scale api=2"));
    // Only the container the scale-up made is checked and kept.
    expect(c.filter((l) => / exec /.test(l))).toEqual([`IMAGE_TAG=${v} exec new-old1 node -e ${check} ${v}`]);
  });

  it("leaves the old containers serving, and removes the new ones, when a new one never becomes ready", () => {
    const v = version();
    const res = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1", FAKE_NEW_NOT_READY: "1" });
    expect(res.status).toBe(1);
    expect(res.out).toContain('[deploy] new api container new-old1 is not ready; its last log lines:\n    {"level":"error","msg":"configuration problems"}');
    expect(res.out).toContain(`[deploy] error: new api container new-old1 was not ready with version ${v} after 3 tries (its log is above); the new api containers were removed and the old ones still run`);
    expect(calls().filter((l) => / exec new-old1 node /.test(l))).toHaveLength(3);
    expectOnlyNewRemoved(v, ["new-old1"], ["old1"]);
  });

  it("gives up at once on a new container that reports an invalid configuration: waiting would not mend it", () => {
    const v = version();
    const res = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1", FAKE_NEW_NOT_READY: "2" });
    expect(res.status).toBe(1);
    expect(res.out).toContain("[deploy] error: new api container new-old1 reports an invalid configuration (its log is above; check .env); the new api containers were removed and the old ones still run");
    expect(calls().filter((l) => / exec new-old1 node /.test(l))).toHaveLength(1);
    expectOnlyNewRemoved(v, ["new-old1"], ["old1"]);
  });

  it("removes what a failed scale-up started, and leaves the old containers alone", () => {
    const v = version();
    const res = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1", FAKE_SCALE_FAIL: "1" });
    expect(res.status).toBe(1);
    expect(res.out).toContain("[deploy] error: docker compose up failed (docker compose logs --tail 100 api); the new api containers were removed and the old ones still run");
    expectOnlyNewRemoved(v, ["new-old1"], ["old1"]);
    expect(indexOf(calls(), " exec new-")).toBe(-1);
  });

  it("with docker compose older than 2.15, warns and replaces the api the plain way", () => {
    const v = version();
    const res = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1", FAKE_COMPOSE_VERSION: "2.14.9" });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain("[deploy] warning: docker compose 2.14.9 is older than 2.15: the api is replaced with a gap");
    const c = fromRollout();
    expect(indexOf(c, "--scale")).toBe(-1);
    expect(c).toContain(`IMAGE_TAG=${v} compose up -d --remove-orphans`);
    rmSync(log, { force: true });
    const current = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1", FAKE_COMPOSE_VERSION: "2.15.0" });
    expect(current.status, current.out).toBe(0);
    expect(current.out).not.toContain("warning");
    expect(indexOf(calls(), "--scale api=2")).toBeGreaterThan(-1);
  });

  it("removes the new containers when compose made fewer than asked", () => {
    const v = version();
    const res = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1 old2", FAKE_SCALE_SHORT: "1" });
    expect(res.status).toBe(1);
    expect(res.out).toContain("[deploy] error: docker compose started 1 new api container(s), not 2; the new api containers were removed and the old ones still run");
    expectOnlyNewRemoved(v, ["new-old2"], ["old1", "old2"]);
    expect(indexOf(calls(), " exec new-")).toBe(-1);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ])("interrupted (%s) while it checks the new containers: removes them, leaves the old ones serving", (signal, status) => {
    const v = version();
    const res = run("deploy.sh", [v], { ...rollout, FAKE_RUNNING: "old1 old2", FAKE_INTERRUPT: signal });
    expect(res.status, res.out).toBe(status);
    expect(res.out).toContain("[deploy] interrupted: removing the new api containers; the old ones keep running");
    expect(calls().filter((l) => / exec new-/.test(l))).toHaveLength(1); // the check it was in, no later one
    expectOnlyNewRemoved(v, ["new-old1", "new-old2"], ["old1", "old2"]);
  });

  it("without --migrate, stops before touching anything when the image has pending migrations", () => {
    const res = run("deploy.sh", ["v2.0.0"], { FAKE_PENDING: "0002_habits.sql, 0003_goals.sql" });
    expect(res.status).toBe(1);
    expect(res.out).toContain("ignition-api:v2.0.0 has pending migrations (0002_habits.sql, 0003_goals.sql): run deploy.sh v2.0.0 --migrate");
    const c = calls();
    expect(indexOf(c, "migrate.mjs check")).toBeGreaterThan(-1);
    // Refused before the backup: no dump of the database for a deploy that does not happen.
    expect(indexOf(c, "pg_dump")).toBe(-1);
    expect(existsSync(backups) ? readdirSync(backups) : []).toEqual([]);
    expect(c.filter((l) => /ps -q api|up -d --|--scale/.test(l))).toEqual([]);
  });

  it("stops before any migration when the backup fails", () => {
    const res = run("deploy.sh", ["v2.0.0", "--migrate"], { FAKE_PG_DUMP_FAIL: "1" });
    expect(res.status).toBe(1);
    expect(res.out).toContain("[deploy] error: backup failed (pg_dump); nothing was changed");
    expect(indexOf(calls(), "migrate.mjs")).toBe(-1);
    expect(readdirSync(backups)).toEqual([]);
  });

  it("stops when the migrations fail, leaving the running version alone", () => {
    const res = run("deploy.sh", ["v2.0.0", "--migrate"], { FAKE_MIGRATE_FAIL: "1" });
    expect(res.status).toBe(1);
    expect(res.out).toContain("migrate: 0002_x.sql line 3: boom");
    expect(res.out).toMatch(/migrations failed; the running version was not touched\. Backup: .*pre-deploy_v2\.0\.0_/);
    expect(calls().filter((l) => /ps -q api|up -d --|--scale/.test(l))).toEqual([]);
  });

  it("fails with a rollback hint when the new version does not become healthy", () => {
    // /app/VERSION cannot be read, so the tag is expected; the running API reports another version.
    const res = run("deploy.sh", ["v2.0.0"], { FAKE_CURRENT_TAG: "v1.9.0" });
    expect(res.status).toBe(1);
    expect(res.out).toContain("[deploy] expecting version v2.0.0 (the tag: could not read /app/VERSION in ignition-api:v2.0.0)");
    expect(res.out).toContain(`reports version "${version()}", expected "v2.0.0"`);
    expect(res.out).toMatch(/\[deploy\] error: v2\.0\.0 is not healthy .* To go back: rollback\.sh v1\.9\.0 \(add --to NNNN/);
  });

  it("expects the version baked into the image, not the tag: latest deploys, a mismatched image does not", () => {
    const latest = run("deploy.sh", ["latest"], { FAKE_IMAGE_VERSION: version() });
    expect(latest.status, latest.out).toBe(0);
    expect(latest.out).toContain(`[deploy] expecting version ${version()} (/app/VERSION in ignition-api:latest)`);
    expect(latest.out).toContain("[deploy] deployed latest");
    const other = run("deploy.sh", [version()], { FAKE_IMAGE_VERSION: "v9.9.9" });
    expect(other.status).toBe(1);
    expect(other.out).toContain(`reports version "${version()}", expected "v9.9.9"`);
  });

  it("names what is missing: the image, the env file, the version", () => {
    const noImage = run("deploy.sh", ["v2.0.0"], { FAKE_IMAGE_MISSING: "1" });
    expect(noImage.status).toBe(1);
    expect(noImage.out).toContain("image ignition-api:v2.0.0 is neither here nor pullable: build it (docker build -f container/Dockerfile --build-arg VERSION=v2.0.0 -t ignition-api:v2.0.0 .)");
    const noEnv = run("deploy.sh", ["v2.0.0"], { ENV_FILE: join(work, "missing.env") });
    expect(noEnv.status).toBe(1);
    expect(noEnv.out).toContain(`environment file not found: ${join(work, "missing.env")} (copy`);
    const noVersion = run("deploy.sh", []);
    expect(noVersion.status).toBe(2);
    expect(noVersion.out).toContain("which version?");
    expect(run("deploy.sh", ["v1 0"]).out).toContain('"v1 0" is not a valid image tag');
    // A bad health setting is found before the backup and the change, not reported as an unhealthy version.
    rmSync(log, { force: true });
    const badRetries = run("deploy.sh", ["v2.0.0", "--migrate"], { HEALTH_RETRIES: "abc" });
    expect(badRetries.status).toBe(1);
    expect(badRetries.out).toContain("HEALTH_RETRIES=abc is invalid");
    expect(calls().filter((l) => /pg_dump|migrate|up -d/.test(l))).toEqual([]);
    const badSettle = run("deploy.sh", ["v2.0.0", "--migrate"], { ROLLOUT_SETTLE_SECONDS: "soon" });
    expect(badSettle.status).toBe(1);
    expect(badSettle.out).toContain("ROLLOUT_SETTLE_SECONDS=soon is invalid");
    expect(calls().filter((l) => /pg_dump|migrate|up -d/.test(l))).toEqual([]);
    const noDocker = spawnSync(join(tools("no-docker", ["bash", "dirname"]), "bash"), [join(SCRIPTS, "deploy.sh"), "v2.0.0"], {
      env: { PATH: join(work, "no-docker"), ENV_FILE: envFile },
      encoding: "utf8",
    });
    expect(noDocker.status).toBe(1);
    expect(noDocker.stderr).toContain("docker is not installed");
  });
});

describe("rollback.sh", () => {
  it("with --yes: backs up, stops the api, rolls migrations back with the deployed image, starts the old version", () => {
    const v = version();
    const res = run("rollback.sh", [v, "--to", "0001", "--yes"], { FAKE_CURRENT_TAG: "v1.1.0" });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain(`[rollback] rolled back to ${v}`);
    const c = calls().filter((l) => !/compose version|ps -a -q|inspect --format|pg_isready|up -d postgres|port proxy/.test(l));
    expect(c).toEqual([
      `IMAGE_TAG=${v} compose config --images api`,
      `IMAGE_TAG= run --rm --entrypoint cat ignition-api:${v} /app/VERSION`,
      `IMAGE_TAG= compose exec -T postgres sh -c pg_dump --no-owner -U "$POSTGRES_USER" -d "$POSTGRES_DB"`,
      "IMAGE_TAG= compose stop api",
      // The down files exist only in the newer image, the one deployed now.
      "IMAGE_TAG=v1.1.0 compose run --rm -T migrate node scripts/migrate.mjs down --to 0001",
      // Nothing runs any more: the version simply starts.
      `IMAGE_TAG=${v} compose ps -q api`,
      `IMAGE_TAG=${v} compose up -d --remove-orphans`,
    ]);
    expect(readdirSync(backups)[0]).toMatch(/^pre-rollback_/);
  });

  it("without --to, replaces the running api containers without a gap, as deploy.sh does", () => {
    const v = version();
    const res = run("rollback.sh", [v, "--yes"], { FAKE_CURRENT_TAG: "v1.1.0", FAKE_IMAGE_VERSION: v, FAKE_RUNNING: "cur1" });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain(`[rollback] rolled back to ${v}`);
    const c = calls();
    expect(indexOf(c, "stop api")).toBe(-1);
    expect(indexOf(c, "migrate.mjs")).toBe(-1);
    expect(indexOf(c, "compose ps -q api")).toBeGreaterThan(indexOf(c, "pg_dump"));
    expect(fromRollout()).toEqual(rolloutCalls(v, ["cur1"]));
  });

  it("rolls back to latest when the image's /app/VERSION is what the API reports", () => {
    const res = run("rollback.sh", ["latest", "--yes"], { FAKE_CURRENT_TAG: "v1.1.0", FAKE_IMAGE_VERSION: version() });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain(`[rollback] expecting version ${version()} (/app/VERSION in ignition-api:latest)`);
    expect(res.out).toContain("[rollback] rolled back to latest");
  });

  it("without --yes and without a terminal, refuses before changing anything", () => {
    const res = run("rollback.sh", ["v0.9.0"], { FAKE_CURRENT_TAG: "v1.1.0" }, "y\n");
    expect(res.status).toBe(1);
    expect(res.out).toContain("refusing to roll back from v1.1.0 to v0.9.0 without confirmation: stdin is not a terminal (pass --yes)");
    expect(calls().filter((l) => /pg_dump|stop api|migrate|up -d/.test(l))).toEqual([]);
  });

  it("checks its arguments, and needs the deployed version to run down migrations", () => {
    expect(run("rollback.sh", ["--help"]).status).toBe(0);
    const badTo = run("rollback.sh", ["v0.9.0", "--to", "7", "--yes"]);
    expect(badTo.status).toBe(2);
    expect(badTo.out).toContain("--to needs a four-digit migration number");
    const unknown = run("rollback.sh", ["v0.9.0", "--to", "0004", "--yes"]);
    expect(unknown.status).toBe(1);
    expect(unknown.out).toContain("cannot tell which version is deployed");
  });
});

describe("health-check.sh", () => {
  it("exits 0 against the running API, reporting its version", () => {
    const res = run("health-check.sh", ["--url", `${apiUrl()}/health/ready`, "--version", version()]);
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain(`healthy: ${apiUrl()}/health/ready answered 200 (version ${version()})`);
  });

  it("exits non-zero with a clear message when nothing listens", async () => {
    const port = await freePort();
    const res = run("health-check.sh", ["--url", `http://127.0.0.1:${port}/health/ready`, "--retries", "2", "--timeout", "2"]);
    expect(res.status).toBe(1);
    expect(res.out).toContain(`[health-check] attempt 1/2: cannot connect to http://127.0.0.1:${port}/health/ready (`);
    expect(res.out).toMatch(/unhealthy after 2 attempt\(s\): cannot connect to .*: is the API running and published on that port\?/);
  });

  it("reports the status and body of a non-200 answer", () => {
    const res = run("health-check.sh", ["--url", `${apiUrl()}/no/such/route`, "--retries", "1"]);
    expect(res.status).toBe(1);
    expect(res.out).toMatch(/answered HTTP 404: \{"error":"not_found"/);
  });

  it("works with node when curl is not installed", async () => {
    const only = tools("no-curl", ["bash", "node", "mktemp", "rm", "head", "sed", "tail", "sleep"]);
    const script = join(SCRIPTS, "health-check.sh");
    const env = { PATH: only, HEALTH_INTERVAL: "0.1" };
    const up = spawnSync(join(only, "bash"), [script, "--url", `${apiUrl()}/health/ready`], { env, encoding: "utf8" });
    expect(up.status, up.stdout + up.stderr).toBe(0);
    const port = await freePort();
    const down = spawnSync(join(only, "bash"), [script, "--url", `http://127.0.0.1:${port}/`, "--retries", "1"], { env, encoding: "utf8" });
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/cannot connect to .*ECONNREFUSED/);
  });

  it("rejects bad arguments with usage", () => {
    const res = run("health-check.sh", ["--retries", "zero"]);
    expect(res.status).toBe(2);
    expect(res.out).toContain('--retries needs a whole number of at least 1, not "zero"');
    expect(res.out).toContain("usage: health-check.sh");
  });
});

describe("the scripts themselves", () => {
  it("are strict bash with --help", () => {
    for (const script of ["deploy.sh", "rollback.sh", "health-check.sh"]) {
      const text = readFileSync(join(SCRIPTS, script), "utf8");
      expect(text.startsWith("#!/usr/bin/env bash\n"), script).toBe(true);
      expect(text, script).toContain("set -euo pipefail");
      expect(spawnSync("bash", ["-n", join(SCRIPTS, script)]).status, script).toBe(0);
      const help = run(script, ["--help"]);
      expect(help.status, script).toBe(0);
      expect(help.out, script).toMatch(new RegExp(`^usage: ${script.replace(".", "\\.")}`));
    }
  });
});
