// One error type for the whole API. The code set is closed and mapped to an HTTP status here
// and nowhere else; the wire envelope is {"error", "message", "request_id", "details"?}.

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_violation: 403,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  validation_error: 422,
  rate_limited: 429,
  internal_error: 500,
  config_error: 503,
  database_unavailable: 503,
  storage_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function errorBody(err: AppError, requestId: string): Record<string, unknown> {
  const body: Record<string, unknown> = { error: err.code, message: err.message, request_id: requestId };
  if (err.details && err.details.length > 0) body.details = err.details;
  return body;
}

/** 409 for a create that would take a user past a per-account cap (`what`: "active habits"). */
export function overCap(cap: number, what: string): AppError {
  return new AppError("conflict", `You already have ${cap} ${what}, the most one account can have`);
}
