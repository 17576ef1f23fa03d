import type { z } from "zod";
import { AppError } from "./errors";
import { validate } from "./validate";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A path id: anything that is not a UUID cannot name a row, so it is the same 404 as an unknown
 * id (or another user's), with the resource's own message.
 */
export function idParam(value: string | undefined, notFound: string): string {
  if (value === undefined || !UUID.test(value)) throw new AppError("not_found", notFound);
  return value.toLowerCase();
}

/**
 * Validates the query string (each parameter a string; repeated ones keep the last): 422 per bad
 * field. An empty parameter (`?category=`, as forms and many clients send) counts as absent.
 */
export function parseQuery<S extends z.ZodType>(request: Request, schema: S): z.infer<S> {
  const given = [...new URL(request.url).searchParams].filter(([, value]) => value.trim() !== "");
  return validate(schema, Object.fromEntries(given), "query string");
}
