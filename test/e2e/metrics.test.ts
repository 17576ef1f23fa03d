import { describe, expect, it } from "vitest";
import { apiUrl } from "../support/env";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text format 0.0.4: every line must be a comment or a sample. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return { samples, types };
}

describe("GET /metrics", () => {
  it("exposes request counts, latency and database histograms and pool gauges in Prometheus format", async () => {
    for (let i = 0; i < 3; i++) await fetch(apiUrl() + "/health/db");
    await fetch(apiUrl() + "/health", { method: "POST" });
    expect((await fetch(apiUrl() + "/health/live", { method: "HEAD" })).status).toBe(200);
    expect((await fetch(apiUrl() + "/api/market/wallet")).status).toBe(401); // answered by the auth gate
    const res = await fetch(apiUrl() + "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("version=0.0.4");
    const { samples, types } = parse(await res.text());

    expect(types.get("ignition_http_requests_total")).toBe("counter");
    expect(types.get("ignition_http_request_duration_seconds")).toBe("histogram");
    expect(types.get("ignition_db_query_duration_seconds")).toBe("histogram");
    for (const g of ["ignition_db_pool_in_use", "ignition_db_pool_idle", "ignition_db_pool_waiting"]) expect(types.get(g)).toBe("gauge");

    const count = samples.find((s) => s.name === "ignition_http_requests_total" && s.labels.route === "/health/db" && s.labels.method === "GET" && s.labels.status === "200");
    expect(count?.value).toBeGreaterThanOrEqual(3);
    const notAllowed = samples.find((s) => s.name === "ignition_http_requests_total" && s.labels.status === "405");
    expect(notAllowed?.labels.route).toBe("unmatched");
    // A HEAD counts under the GET route it ran; a request the auth gate refused, under its route.
    const routesOf = (method: string, status: string) =>
      samples.filter((s) => s.name === "ignition_http_requests_total" && s.labels.method === method && s.labels.status === status).map((s) => s.labels.route);
    expect(routesOf("HEAD", "200")).toContain("/health/live");
    expect(routesOf("HEAD", "200")).not.toContain("unmatched");
    expect(routesOf("GET", "401")).toContain("/api/market/wallet");

    const buckets = samples.filter((s) => s.name === "ignition_http_request_duration_seconds_bucket" && s.labels.route === "/health/db");
    expect(buckets.at(-1)?.labels.le).toBe("+Inf");
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);

    const queries = samples.find((s) => s.name === "ignition_db_query_duration_seconds_count");
    expect(queries?.value).toBeGreaterThanOrEqual(3);
    // The pool holds open connections (idle, or in use by other tests' requests right now).
    const gauge = (name: string) => samples.find((s) => s.name === name)?.value ?? -1;
    for (const g of ["ignition_db_pool_in_use", "ignition_db_pool_idle", "ignition_db_pool_waiting"]) expect(gauge(g)).toBeGreaterThanOrEqual(0);
    expect(gauge("ignition_db_pool_in_use") + gauge("ignition_db_pool_idle")).toBeGreaterThanOrEqual(1);

    // Every sample carries the instance label, the same one throughout.
    const instances = new Set(samples.map((s) => s.labels.instance));
    expect(instances.size).toBe(1);
    expect([...instances][0]).toMatch(/.+/);
  });
});
