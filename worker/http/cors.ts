import { AppError } from "./errors";

const ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS = "Accept, Accept-Language, Content-Language, Content-Type, Authorization, X-Request-Id, Idempotency-Key";
// What a frontend may read from a response: ids, retry hints, downloads (name, ranges) and Allow.
const EXPOSE_HEADERS =
  "X-Request-Id, Retry-After, Content-Disposition, Content-Length, Content-Range, Accept-Ranges, ETag, Idempotent-Replayed, Allow";
const MAX_AGE_SECONDS = "86400";

export function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("Access-Control-Request-Method");
}

/** Answers a CORS preflight; an origin that is not listed exactly gets 403 and no CORS headers. */
export function preflight(request: Request, allowed: readonly string[]): Response {
  const origin = request.headers.get("Origin");
  if (origin === null || !allowed.includes(origin)) {
    throw new AppError("origin_not_allowed", "Origin is not allowed");
  }
  return new Response(null, {
    status: 204,
    headers: {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Credentials": "true",
      "Access-Control-Allow-Methods": ALLOW_METHODS,
      "Access-Control-Allow-Headers": ALLOW_HEADERS,
      "Access-Control-Max-Age": MAX_AGE_SECONDS,
      Vary: "Origin",
    },
  });
}

/** Adds CORS headers to an actual response when, and only when, the origin is listed exactly. */
export function applyCors(request: Request, headers: Headers, allowed: readonly string[]): void {
  const vary = headers.get("Vary");
  if (vary === null || !vary.split(",").some((v) => v.trim().toLowerCase() === "origin")) headers.append("Vary", "Origin");
  const origin = request.headers.get("Origin");
  if (origin === null || !allowed.includes(origin)) return;
  headers.set("Access-Control-Allow-Origin", origin);
  headers.set("Access-Control-Allow-Credentials", "true");
  headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
}
