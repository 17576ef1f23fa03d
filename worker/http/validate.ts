import type { z } from "zod";
import type { AppContext } from "../context";
import { parseJsonText, readJson, readLimitedText, requireJsonType } from "./body";
import { AppError, type FieldError } from "./errors";

function toDetails(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join(".") : "(body)",
    message: issue.message,
  }));
}

/** Validates a value against a schema: 422 validation_error with one entry per bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = "request body"): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new AppError("validation_error", `Invalid ${what}`, toDetails(result.error));
  return result.data;
}

/** Reads the JSON body (415/400/413 as the pipeline defines) and validates it. */
export async function parseBody<S extends z.ZodType>(request: Request, ctx: AppContext, schema: S): Promise<z.infer<S>> {
  return validate(schema, await readJson(request, ctx.config.maxBodyBytes));
}

/**
 * For endpoints whose body is optional: no body (or an empty one) validates as `{}`; anything
 * else must be JSON like any other body (415/400/413 as parseBody answers).
 */
export async function parseOptionalBody<S extends z.ZodType>(request: Request, ctx: AppContext, schema: S): Promise<z.infer<S>> {
  const text = request.body === null ? "" : await readLimitedText(request, ctx.config.maxBodyBytes);
  if (text.trim() === "") return validate(schema, {});
  requireJsonType(request);
  return validate(schema, parseJsonText(text));
}
