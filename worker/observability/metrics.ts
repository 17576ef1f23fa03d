import type { PoolStats } from "../db/sql";

// Prometheus text exposition format 0.0.4, kept in memory per isolate (one per workerd process);
// the `instance` label tells processes apart when a scraper collects several.

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (seconds <= this.buckets[i]!) this.counts[i]!++;
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

export class Metrics {
  private readonly requests = new Map<string, { route: string; method: string; status: string; n: number }>();
  private readonly latency = new Map<string, { route: string; method: string; h: Histogram }>();
  private readonly queries = new Histogram(QUERY_BUCKETS);

  observeRequest(route: string, method: string, status: number, durationMs: number): void {
    const key = `${method} ${route} ${status}`;
    const entry = this.requests.get(key) ?? { route, method, status: String(status), n: 0 };
    entry.n++;
    this.requests.set(key, entry);
    const lkey = `${method} ${route}`;
    const lat = this.latency.get(lkey) ?? { route, method, h: new Histogram(LATENCY_BUCKETS) };
    lat.h.observe(durationMs / 1000);
    this.latency.set(lkey, lat);
  }

  observeQuery(durationMs: number): void {
    this.queries.observe(durationMs / 1000);
  }

  render(instance: string, version: string, pool: PoolStats | null): string {
    const base = { instance };
    const out: string[] = [];
    out.push("# HELP ignition_build_info Build version of this API process.", "# TYPE ignition_build_info gauge");
    out.push(`ignition_build_info${labels({ ...base, version })} 1`);

    out.push("# HELP ignition_http_requests_total HTTP requests by route pattern, method and status.");
    out.push("# TYPE ignition_http_requests_total counter");
    for (const r of this.requests.values()) {
      out.push(`ignition_http_requests_total${labels({ ...base, route: r.route, method: r.method, status: r.status })} ${r.n}`);
    }

    out.push("# HELP ignition_http_request_duration_seconds HTTP request latency.");
    out.push("# TYPE ignition_http_request_duration_seconds histogram");
    for (const l of this.latency.values()) {
      this.renderHistogram(out, "ignition_http_request_duration_seconds", { ...base, route: l.route, method: l.method }, l.h);
    }

    out.push("# HELP ignition_db_query_duration_seconds Duration of database statements.");
    out.push("# TYPE ignition_db_query_duration_seconds histogram");
    this.renderHistogram(out, "ignition_db_query_duration_seconds", base, this.queries);

    const p = pool ?? { total: 0, idle: 0, waiting: 0 };
    const gauges: Array<[string, string, number]> = [
      ["ignition_db_pool_in_use", "Database connections checked out of the pool.", p.total - p.idle],
      ["ignition_db_pool_idle", "Open database connections waiting in the pool.", p.idle],
      ["ignition_db_pool_waiting", "Requests waiting for a database connection.", p.waiting],
    ];
    for (const [name, help, value] of gauges) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}${labels(base)} ${value}`);
    }
    return out.join("\n") + "\n";
  }

  private renderHistogram(out: string[], name: string, lbl: Record<string, string>, h: Histogram): void {
    h.buckets.forEach((b, i) => out.push(`${name}_bucket${labels({ ...lbl, le: String(b) })} ${h.counts[i]}`));
    out.push(`${name}_bucket${labels({ ...lbl, le: "+Inf" })} ${h.count}`);
    out.push(`${name}_sum${labels(lbl)} ${h.sum}`);
    out.push(`${name}_count${labels(lbl)} ${h.count}`);
  }
}
