// The compose files cannot be run here (no docker engine): parse them and check the structure the
// deployment guide and the deploy scripts rely on.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT, RUNTIME } from "../../scripts/lib/runtime.mjs";

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

  it("documents every variable it reads in production/.env.example, the guide's included", () => {
    const example = read("container/production/.env.example");
    const documented = envFileKeys(example);
    for (const v of interpolated(read("container/production/docker-compose.yml"))) expect(documented.has(v), v).toBe(true);
    for (const v of GUIDE_VARIABLES.filter((v) => !["DATABASE_URL", "SERVER_PORT"].includes(v))) expect(documented.has(v), v).toBe(true);
  });
});
