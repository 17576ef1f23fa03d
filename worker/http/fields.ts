// Field schemas shared by request bodies and query strings: what PostgreSQL can store, checked
// before it gets there (a value the database refuses would otherwise be a 500).
import { z } from "zod";

/** PostgreSQL TEXT cannot hold NUL characters. */
const noNul = (s: string) => !s.includes("\u0000");
const NUL_MESSAGE = "Must not contain NUL characters";

/** JSON may carry half of a UTF-16 surrogate pair, which no UTF-8 text can store (it became U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);
const SURROGATE_MESSAGE = "Must be valid Unicode text (no unpaired surrogates)";

/** Whether PostgreSQL can store the string (as text or inside jsonb): no NUL, no unpaired surrogate. */
export const storable = (s: string): boolean => noNul(s) && wellFormed(s);

/** A string schema refined to what PostgreSQL can store, each problem with its own message. */
export const storableString = <S extends z.ZodType<string>>(schema: S) => schema.refine(noNul, NUL_MESSAGE).refine(wellFormed, SURROGATE_MESSAGE);

/** Optional text (trimmed, at most `max` characters); null or absent when not given. */
export const optionalText = (max: number) => storableString(z.string().trim().max(max)).nullish();

/** Required, non-blank text (trimmed, at most `max` characters). */
export const requiredText = (max: number) => storableString(z.string().trim().min(1, "Must not be blank").max(max));

/** A calendar date YYYY-MM-DD that PostgreSQL's DATE accepts and people plan with (years 1900–9999). */
export const calendarDate = z.iso
  .date()
  // Judged only on a well-formed date: a malformed one has its own message, not this one too.
  .refine((d) => !/^\d{4}-\d{2}-\d{2}$/.test(d) || d >= "1900-01-01", "Must be on or after 1900-01-01");

/**
 * An optional field with a default. `null` counts as absent: many clients serialise an unset
 * optional field as null, and refusing it would be a 422 for asking for the default.
 */
export const orDefault = <S extends z.ZodType>(schema: S, value: z.output<S>) =>
  schema.nullish().transform((v): z.output<S> => (v ?? value) as z.output<S>);
