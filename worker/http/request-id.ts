// An incoming X-Request-Id is kept only when it is short and plain, so it is safe to log and echo.
const WELL_FORMED = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;

export function requestIdFor(request: Request): string {
  const incoming = request.headers.get("X-Request-Id");
  return incoming !== null && WELL_FORMED.test(incoming) ? incoming : crypto.randomUUID();
}
