// A minimal browser for end-to-end tests: a cookie jar, a client address (X-Forwarded-For, as our
// proxy would set it), the frontend's Origin on state-changing requests, and manual redirects.
import { randomInt } from "node:crypto";
import { encodeIdentity, type TestIdentity } from "./oidc-provider";

export const FRONTEND = "http://localhost:3000";

export function randomIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

export class Browser {
  readonly jar = new Map<string, string>();
  constructor(
    readonly apiUrl: string,
    readonly ip = randomIp(),
    readonly origin = FRONTEND,
  ) {}

  cookie(name: string): string | undefined {
    return this.jar.get(name);
  }

  /** Fetches a path (or an absolute URL on the API) with this browser's cookies; keeps Set-Cookie. */
  async fetch(pathOrUrl: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const url = pathOrUrl.startsWith("http") ? this.apiUrl + new URL(pathOrUrl).pathname + new URL(pathOrUrl).search : this.apiUrl + pathOrUrl;
    const method = init.method ?? "GET";
    const headers: Record<string, string> = { "X-Forwarded-For": this.ip, "User-Agent": "ignition-test-browser", ...init.headers };
    if (!["GET", "HEAD"].includes(method) && !("Origin" in headers)) headers.Origin = this.origin;
    const cookies = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (cookies && !("Cookie" in headers)) headers.Cookie = cookies;
    for (const [k, v] of Object.entries(headers)) if (v === "") delete headers[k]; // "" = do not send
    const res = await fetch(url, { ...init, method, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "") this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  /** JSON POST with the frontend's Origin. */
  post(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, {
      method: "POST",
      headers: { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /**
   * The whole authorization-code flow: /auth/signin → the provider (which signs in `identity`) →
   * /auth/callback. Returns the callback's response (a redirect to the frontend).
   */
  async signIn(provider: "google" | "azure", identity: TestIdentity | null, redirect?: string): Promise<Response> {
    const start = await this.fetch(`/auth/signin/${provider}${redirect === undefined ? "" : `?redirect=${encodeURIComponent(redirect)}`}`);
    if (start.status !== 307) throw new Error(`signin answered ${start.status}: ${await start.text()}`);
    const authorize = await this.authorize(start.headers.get("Location")!, identity);
    return this.fetch(authorize);
  }

  /** Visits the provider's authorize URL as `identity`; returns the callback URL it redirects to. */
  async authorize(authorizeUrl: string, identity: TestIdentity | null): Promise<string> {
    const url = new URL(authorizeUrl);
    if (identity) url.searchParams.set("test_identity", encodeIdentity(identity));
    const res = await fetch(url, { redirect: "manual" });
    if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
    return res.headers.get("Location")!;
  }
}

let counter = 0;
/** A fresh identity with a unique subject and email. */
export function person(overrides: Partial<TestIdentity> = {}): TestIdentity {
  const n = `${Date.now().toString(36)}${(counter++).toString(36)}${randomInt(1e6).toString(36)}`;
  return { sub: `sub-${n}`, email: `user-${n}@example.com`, email_verified: true, name: `User ${n}`, ...overrides };
}
