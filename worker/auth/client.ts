// Who is calling: the client address (from the proxy's header) and user agent, for audit and limits.

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":") || s.length > 45) return false;
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === "" ? [] : h.split(":")));
  let count = 0;
  for (const [i, g] of groups.entries()) {
    if (i === groups.length - 1 && IPV4.test(g)) count += 2;
    else if (/^[0-9a-fA-F]{1,4}$/.test(g)) count += 1;
    else return false;
  }
  return halves.length === 2 ? count < 8 : count === 8;
}

export function isIp(s: string): boolean {
  return IPV4.test(s) || isIPv6(s);
}

/**
 * The client address from the configured header. Each of our `hops` proxies appends the address it
 * saw to X-Forwarded-For, so the client is the hops-th entry from the right; entries further left
 * come from the client and can be forged.
 */
export function clientIp(request: Request, header: string, hops = 1): string | null {
  const raw = request.headers.get(header);
  if (!raw) return null;
  const parts = raw.split(",").map((p) => p.trim()).filter(Boolean);
  const candidate = header === "x-forwarded-for" ? parts[parts.length - hops] : parts[0];
  return candidate && isIp(candidate) ? candidate : null;
}

export function userAgent(request: Request): string | null {
  const ua = request.headers.get("User-Agent");
  return ua ? ua.slice(0, 512) : null;
}
