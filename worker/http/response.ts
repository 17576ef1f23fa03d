import { AppError, errorBody } from "./errors";

export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(body), { status, headers: h });
}

export function errorResponse(err: AppError, requestId: string): Response {
  return json(errorBody(err, requestId), err.status, err.headers);
}
