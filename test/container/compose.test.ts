// The compose files cannot be run here (no docker engine): parse them and check the structure the
// deployment guide and the deploy scripts rely on.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configVariableNames } from "../../scripts/lib/dev-vars.mjs";
import { ROOT, RUNTIME } from "../../scripts/lib/runtime.mjs";
import { loadConfig } from "../../worker/config";
import { MAX_UPLOAD_BYTES } from "../../worker/storage/mime";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Compose = { name?: string; services: Record<string, any>; networks?: Record<string, any>; volumes?: Record<string, any> };

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const load = (path: string): Compose => parse(read(path), { merge: true });
const dev = load("container/docker-compose.yml");
const prod = load("container/production/docker-compose.yml");

/** Variables the file interpolates (${VAR...}), not the $${VAR} that the container's shell expands. */
const interpolated = (text: string) => new Set([...text.matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
/** VAR=... lines of an env file, commented-out ones included (they document a default). */
const envFileKeys = (text: string) => new Set([...text.matchAll(/^#?\s?([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
const envKeys = (svc: any) => Object.keys(svc.environment ?? {});
/** The uncommented VAR=value lines of an env file. */
const dotenv = (text: string) => Object.fromEntries([...text.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));

/** Compose's interpolation of one value: $$, ${V}, ${V:-d}, ${V-d}, ${V:?e}, ${V?e}. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (all, name, colon, op, arg) => {
    if (all === "$$") return "$";
    const v = vars[name];
    const missing = v === undefined || (colon === ":" && v === "");
    if (op === "?" && missing) throw new Error(`${name}: ${arg}`);
    return op === "-" && missing ? arg : (v ?? "");
  });
}
/** The api container's environment for these .env values. */
const apiEnvironment = (vars: Record<string, string>) =>
  Object.fromEntries(Object.entries(prod.services.api.environment).map(([k, v]) => [k, interpolate(String(v), vars)]));

/** Every variable worker/config.ts reads. */
const CONFIG_VARIABLES = configVariableNames();
/** Fixed by the production compose, or development-only (config.ts refuses them elsewhere). */
const FIXED = ["SERVER_PORT", "AUTH_DEV_BYPASS", "DATABASE_URL", "DATABASE_DRIVER"];
const DEVELOPMENT_ONLY = ["GOOGLE_ISSUER_URL", "AZURE_AUTHORITY_URL"];

/** nginx size (1024, 64k, 101m, 1g) in bytes. */
function nginxBytes(size: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(size);
  if (!m) throw new Error(`not an nginx size: ${size}`);
  return Number(m[1]) * 1024 ** " kmg".indexOf((m[2] || " ").toLowerCase());
}

// Every variable the guide's tables name (required and optional).
const GUIDE_VARIABLES = [
  "DATABASE_URL", "SESSION_SECRET", "AUTH_COOKIE_DOMAIN", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET",
  "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "STORAGE_ENDPOINT", "STORAGE_ACCESS_KEY_ID",
  "STORAGE_SECRET_ACCESS_KEY", "STORAGE_BUCKET", "SERVER_PORT", "SERVER_ENVIRONMENT", "CORS_ALLOWED_ORIGINS", "AUTH_DEV_BYPASS",
];

function checkCommon(compose: Compose, file: string) {
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const volume of svc.volumes ?? []) {
      expect(String(volume), `${file}: ${name} mounts into initdb.d`).not.toContain("docker-entrypoint-initdb.d");
    }
    if (svc.healthcheck) expect(JSON.stringify(svc.healthcheck.test), `${file}: ${name} healthcheck`).not.toMatch(/\b(curl|wget)\b/);
  }
  const { migrate, api, postgres } = compose.services;
  expect(postgres.image).toBe("postgres:17-alpine");
  expect(postgres.healthcheck.test.join(" ")).toContain("pg_isready");
  // migrate runs the image's migrator (a file of the runtime folder, i.e. of /app) once.
  expect(migrate.command).toEqual(["node", "scripts/migrate.mjs", "up"]);
  expect(existsSync(join(RUNTIME, "scripts", "migrate.mjs"))).toBe(true);
  expect(migrate.restart).toBe("no");
  expect(migrate.image).toBe(api.image);
  expect(api.depends_on.migrate.condition).toBe("service_completed_successfully");
  expect(api.depends_on.postgres.condition).toBe("service_healthy");
  expect(migrate.depends_on.postgres.condition).toBe("service_healthy");
  expect(api.healthcheck.test.join(" ")).toMatch(/^CMD node -e fetch\('http:\/\/127\.0\.0\.1:8080\/health\/ready'\)/);
}

describe("container/docker-compose.yml (local development)", () => {
  it("has the guide's profiles: default postgres + minio + bucket init, full adds migrate + api, dev adds frontend + admin", () => {
    const profiles = Object.fromEntries(Object.entries(dev.services).map(([name, svc]) => [name, svc.profiles ?? []]));
    expect(profiles).toEqual({
      postgres: [], minio: [], "minio-init": [],
      migrate: ["full", "dev"], api: ["full", "dev"],
      frontend: ["dev"], admin: ["dev"],
    });
    checkCommon(dev, "docker-compose.yml");
  });

  it("publishes the guide's ports", () => {
    const s = dev.services;
    expect(s.postgres.ports).toEqual(["${POSTGRES_PORT:-5432}:5432"]);
    expect(s.minio.ports).toEqual(["${MINIO_API_PORT:-9000}:9000", "${MINIO_CONSOLE_PORT:-9001}:9001"]);
    expect(s.api.ports).toEqual(["${API_PORT:-8080}:8080"]);
    expect(s.frontend.ports).toEqual(["${FRONTEND_PORT:-3000}:3000"]);
    expect(s.admin.ports).toEqual(["${ADMIN_PORT:-3001}:3000"]);
  });

  it("creates the bucket `ignition` once minio is healthy, and builds the api image from this checkout", () => {
    const init = dev.services["minio-init"];
    expect(init.depends_on.minio.condition).toBe("service_healthy");
    expect(init.command.join(" ")).toContain("mc mb --ignore-existing local/ignition");
    expect(dev.services.api.environment.STORAGE_BUCKET).toBe("ignition");
    expect(dev.services.api.build).toMatchObject({ context: "..", dockerfile: "container/Dockerfile" });
    expect(existsSync(join(ROOT, "container", "Dockerfile"))).toBe(true);
  });

  it("takes the frontend and admin images from FRONTEND_IMAGE and ADMIN_IMAGE", () => {
    expect(dev.services.frontend.image).toMatch(/^\$\{FRONTEND_IMAGE:-/);
    expect(dev.services.admin.image).toMatch(/^\$\{ADMIN_IMAGE:-/);
  });

  it("documents every variable it reads in container/.env.example", () => {
    const documented = envFileKeys(read("container/.env.example"));
    for (const v of interpolated(read("container/docker-compose.yml"))) expect(documented.has(v), v).toBe(true);
  });
});

describe("container/production/docker-compose.yml", () => {
  const s = prod.services;

  it("keeps PostgreSQL on an internal network with no published port", () => {
    expect(prod.networks!.internal.internal).toBe(true);
    expect(s.postgres.networks).toEqual(["internal"]);
    expect(s.postgres.ports).toBeUndefined();
    expect(s.migrate.networks).toEqual(["internal"]);
    expect(s.postgres.restart).toBe("always");
    checkCommon(prod, "production/docker-compose.yml");
  });

  it("lets the api scale (--scale api=N): no container_name, no host port, a restart policy, behind the proxy", () => {
    expect(s.api.container_name).toBeUndefined();
    expect(s.api.ports).toBeUndefined();
    expect(s.api.restart).toBe("unless-stopped");
    expect(s.api.deploy.replicas).toBe("${API_REPLICAS:-1}");
    expect(s.api.networks).toEqual(["internal", "edge"]);
    expect(s.api.image).toBe("${IMAGE_NAME:-ignition-api}:${IMAGE_TAG:-latest}");
    expect(s.proxy.networks).toEqual(["edge"]);
    expect(s.proxy.ports).toEqual(["${API_BIND:-127.0.0.1}:${API_PORT:-8080}:8080"]);
    expect(s.proxy.volumes).toEqual(["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"]);
    const nginx = read("container/production/nginx.conf");
    expect(nginx).toMatch(/set \$api_upstream http:\/\/api:8080;\s+proxy_pass \$api_upstream;/);
    expect(nginx).toContain("resolver 127.0.0.11");
  });

  it("passes every variable of the guide plus SERVER_PUBLIC_URL, FRONTEND_URL, WORKERS, METRICS_ENABLED", () => {
    const keys = envKeys(s.api);
    for (const v of [...GUIDE_VARIABLES, "SERVER_PUBLIC_URL", "FRONTEND_URL", "WORKERS", "METRICS_ENABLED"]) expect(keys, v).toContain(v);
    expect(s.api.environment.AUTH_DEV_BYPASS).toBe("false");
  });

  it("passes only variables the runtime reads (config.capnp bindings, or launch.mjs)", () => {
    const capnp = read("container/config.capnp");
    const bindings = new Set([...capnp.matchAll(/fromEnvironment = "([A-Z_0-9]+)"/g)].map((m) => m[1]!));
    const launcher = read("container/launch.mjs");
    for (const compose of [prod, dev]) {
      for (const key of envKeys(compose.services.api)) {
        expect(bindings.has(key) || launcher.includes(`process.env.${key}`) || launcher.includes(`"${key}"`), key).toBe(true);
      }
    }
  });

  it("passes every setting worker/config.ts reads from .env, except the fixed and development-only ones", () => {
    expect(CONFIG_VARIABLES).toEqual(expect.arrayContaining(["DATABASE_URL", "MAX_BODY_BYTES", "STORAGE_BUCKET", "INSTANCE_NAME"]));
    const env = s.api.environment;
    for (const v of CONFIG_VARIABLES.filter((v) => !DEVELOPMENT_ONLY.includes(v))) {
      expect(Object.keys(env), v).toContain(v);
      if (!FIXED.includes(v)) expect(String(env[v]), v).toMatch(new RegExp(`^\\$\\{${v}:[-?]`));
    }
    for (const v of DEVELOPMENT_ONLY) expect(Object.keys(env), v).not.toContain(v);
  });

  it("lets .env switch storage off: .env.example as shipped gives a valid configuration without storage", () => {
    // No STORAGE_* may get a non-empty default: one value alone is a half-configured store.
    for (const [k, v] of Object.entries(s.api.environment)) if (k.startsWith("STORAGE_")) expect(v, k).toBe(`\${${k}:-}`);
    const filled = {
      ...dotenv(read("container/production/.env.example")),
      POSTGRES_PASSWORD: "0123456789abcdef",
      SESSION_SECRET: "k3Fq9vTz-0aLmW2pXr7bNc4sYd8eHj1u",
      GOOGLE_CLIENT_ID: "id",
      GOOGLE_CLIENT_SECRET: "secret",
    };
    const off = loadConfig(apiEnvironment(filled));
    expect(off.problems).toEqual([]);
    expect(off.config.storage).toBeNull();
    const store = { STORAGE_ENDPOINT: "https://acct.r2.cloudflarestorage.com", STORAGE_BUCKET: "ignition", STORAGE_ACCESS_KEY_ID: "k", STORAGE_SECRET_ACCESS_KEY: "s" };
    const on = loadConfig(apiEnvironment({ ...filled, ...store }));
    expect(on.problems).toEqual([]);
    expect(on.config.storage).toMatchObject({ bucket: "ignition", region: "auto" });
    const half = loadConfig(apiEnvironment({ ...filled, STORAGE_BUCKET: "ignition" }));
    expect(half.problems.map((p) => p.variable).sort()).toEqual(["STORAGE_ACCESS_KEY_ID", "STORAGE_ENDPOINT", "STORAGE_SECRET_ACCESS_KEY"]);
  });

  it("lets uploads the API allows through the proxy, streamed, with time for slow clients", () => {
    const nginx = read("container/production/nginx.conf");
    const sizes = [...nginx.matchAll(/^\s*client_max_body_size\s+(\S+);/gm)].map((m) => nginxBytes(m[1]!));
    expect(sizes.length).toBeGreaterThan(0);
    // 64 KiB: the API's room for multipart framing around the largest file (worker/modules/blobs/upload.ts).
    for (const size of sizes) expect(size).toBeGreaterThanOrEqual(MAX_UPLOAD_BYTES + 64 * 1024);
    const blobs = /location ~ \^\/\(api\/\)\?blobs[^{]*\{([^}]*)\}/.exec(nginx)?.[1] ?? "";
    expect(blobs).toMatch(/set \$api_upstream http:\/\/api:8080;\s+proxy_pass \$api_upstream;/);
    expect(blobs).toMatch(/proxy_request_buffering off;/);
    for (const d of ["proxy_send_timeout", "proxy_read_timeout"]) {
      const seconds = Number(new RegExp(`${d} (\\d+)s;`).exec(blobs)?.[1]);
      expect(seconds, d).toBeGreaterThanOrEqual(300);
    }
  });

  it("documents every variable it reads in production/.env.example, the guide's included", () => {
    const example = read("container/production/.env.example");
    const documented = envFileKeys(example);
    for (const v of interpolated(read("container/production/docker-compose.yml"))) expect(documented.has(v), v).toBe(true);
    for (const v of GUIDE_VARIABLES.filter((v) => !["DATABASE_URL", "SERVER_PORT"].includes(v))) expect(documented.has(v), v).toBe(true);
  });
});
