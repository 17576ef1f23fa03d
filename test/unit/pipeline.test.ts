// The request pipeline (envelope, request id, errors, body limits, CORS, headers) run in Node
// around test routes that exercise what no production route can be made to do on demand.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createHandler } from "../../worker/app";
import { loadConfig } from "../../worker/config";
import type { Services } from "../../worker/context";
import { readJson } from "../../worker/http/body";
import { AppError } from "../../worker/http/errors";
import { json } from "../../worker/http/response";
import { createLogger } from "../../worker/observability/logger";
import { Metrics } from "../../worker/observability/metrics";
import { healthRoutes } from "../../worker/modules/health/routes";

function services(env: Record<string, string> = {}): Services {
  const { config, problems } = loadConfig({
    SERVER_ENVIRONMENT: "development",
    DATABASE_URL: "postgres://u:p@127.0.0.1:1/db",
    MAX_BODY_BYTES: "1024",
    CORS_ALLOWED_ORIGINS: "https://app.example.com",
    ...env,
  });
  return {
    config,
    problems,
    version: "test",
    metrics: new Metrics(),
    log: createLogger("info"),
    db: () => {
      throw new AppError("database_unavailable", "no database in unit tests");
    },
    storage: () => {
      throw new AppError("storage_unavailable", "no storage in unit tests");
    },
    dbStats: () => null,
    waitUntil: () => {},
  };
}

const handler = createHandler((r) => {
  healthRoutes(r);
  r.get("/boom", () => {
    throw new Error("relation \"users\" does not exist: SELECT password FROM users");
  });
  r.get("/refused/:code", (req) => {
    throw Object.assign(new Error("value too long for type character varying(10)"), { code: req.params.code });
  });
  r.post("/echo", async (req, ctx) => json({ got: await readJson(req, ctx.config.maxBodyBytes) }));
  r.get("/items/:id", (req) => json({ id: req.params.id }));
});

const call = (path: string, init?: RequestInit, env?: Record<string, string>) =>
  handler(new Request(`http://localhost${path}`, init), services(env));

afterEach(() => vi.restoreAllMocks());

describe("request pipeline", () => {
  it("answers an unexpected exception with 500 internal_error, the request id, and no internals", async () => {
    const logged: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: string) => void logged.push(line));
    vi.spyOn(console, "log").mockImplementation(() => {});
    const res = await call("/boom", { headers: { "X-Request-Id": "req-12345678" } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "internal_error", message: "Internal server error", request_id: "req-12345678" });
    expect(text).not.toMatch(/SELECT|users|at /);
    expect(res.headers.get("X-Request-Id")).toBe("req-12345678");
    // ...while the log keeps what an operator needs.
    expect(logged.join("\n")).toContain("SELECT password FROM users");
  });

  it("answers a value PostgreSQL refused with 4xx (409 for a duplicate), anything else with 500", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await call("/refused/22001")).status).toBe(422);
    expect((await call("/refused/23514")).status).toBe(422);
    const dup = await call("/refused/23505");
    expect(dup.status).toBe(409);
    expect((await dup.json()).error).toBe("conflict");
    expect((await call("/refused/42P01")).status).toBe(500);
  });

  it("parses JSON and refuses malformed JSON (400), a wrong content type (415) and an empty body", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const ok = await call("/echo", { method: "POST", headers: { "Content-Type": "application/json", Origin: "https://app.example.com" }, body: '{"a":1}' });
    expect(await ok.json()).toEqual({ got: { a: 1 } });

    const bad = await call("/echo", { method: "POST", headers: { "Content-Type": "application/json", Origin: "https://app.example.com" }, body: '{"a":' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toBe("invalid_json");

    const type = await call("/echo", { method: "POST", headers: { "Content-Type": "text/plain", Origin: "https://app.example.com" }, body: '{"a":1}' });
    expect(type.status).toBe(415);
    expect((await type.json()).error).toBe("unsupported_media_type");

    const empty = await call("/echo", { method: "POST", headers: { "Content-Type": "application/json", Origin: "https://app.example.com" } });
    expect(empty.status).toBe(400);
  });

  it("refuses a body over MAX_BODY_BYTES with 413, whether declared or streamed", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const big = JSON.stringify({ pad: "x".repeat(2000) });
    const declared = await call("/echo", { method: "POST", headers: { "Content-Type": "application/json", Origin: "https://app.example.com" }, body: big });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error).toBe("payload_too_large");

    // A chunked body with no Content-Length is counted while it is read.
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 1000) return controller.close();
        controller.enqueue(new TextEncoder().encode("x".repeat(512)));
      },
    });
    const streamed = await call("/echo", {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: "https://app.example.com" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(pulled).toBeLessThan(10); // stopped reading right after the limit, not at the end
  });

  it("generates a request id unless a well-formed one is given", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const generated = await call("/items/1", { headers: { "X-Request-Id": "bad id <with> spaces" } });
    expect(generated.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await call("/items/1", { headers: { "X-Request-Id": "abc-DEF_123.456:789" } });
    expect(kept.headers.get("X-Request-Id")).toBe("abc-DEF_123.456:789");
  });

  it("logs one JSON line per request with the route pattern, status and duration", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
    await call("/items/42", { headers: { "X-Request-Id": "log-test-0001" } });
    const entries = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === "request");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ request_id: "log-test-0001", method: "GET", route: "/items/:id", status: 200, user_id: null });
    expect(typeof entries[0].duration_ms).toBe("number");
  });

  it("answers config_error on API routes while configuration is invalid, but keeps health up", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const res = await call("/items/1", undefined, { SERVER_ENVIRONMENT: "production" });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toBe("config_error");
    const health = await call("/health", undefined, { SERVER_ENVIRONMENT: "production" });
    expect(health.status).toBe(200);
  });
});
