import type { Config } from "../config";

/** The value of one cookie from the Cookie header, or null. */
export function readCookie(request: Request, name: string): string | null {
  const header = request.headers.get("Cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * `Secure` everywhere except plain-http localhost in development, where browsers would drop it.
 * SameSite=Lax: the frontend and the API share a registrable domain (same-site), so the cookie
 * is sent on the frontend's fetch calls and on the top-level redirect back from the provider,
 * but not on cross-site subrequests.
 */
function attributes(config: Config, path: string, maxAge: number): string {
  const local = config.environment === "development" && /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(config.publicUrl);
  const parts = [`Path=${path}`, "HttpOnly", "SameSite=Lax", `Max-Age=${Math.max(0, Math.floor(maxAge))}`];
  if (config.cookieDomain && !local) parts.push(`Domain=${config.cookieDomain}`);
  if (!local) parts.push("Secure");
  return parts.join("; ");
}

export function setCookie(config: Config, name: string, value: string, maxAgeSeconds: number, path = "/"): string {
  return `${name}=${value}; ${attributes(config, path, maxAgeSeconds)}`;
}

export function clearCookie(config: Config, name: string, path = "/"): string {
  return `${name}=; ${attributes(config, path, 0)}`;
}
