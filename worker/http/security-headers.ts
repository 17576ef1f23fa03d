/** Headers every response carries. The API serves JSON and media, never pages to frame or script. */
export function applySecurityHeaders(headers: Headers, opts: { https: boolean }): void {
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("X-Frame-Options", "DENY");
  headers.set("Referrer-Policy", "no-referrer");
  const csp = headers.get("Content-Security-Policy");
  if (csp === null) {
    headers.set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  } else if (!/(^|;)\s*frame-ancestors\b/.test(csp)) {
    // A route's own policy (a blob's) still never lets another page frame the response.
    headers.set("Content-Security-Policy", `${csp}; frame-ancestors 'none'`);
  }
  if (opts.https) headers.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  // JSON answers may carry per-user data: never let a shared cache keep them.
  const type = headers.get("Content-Type") ?? "";
  if (type.startsWith("application/json") && !headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
}
