// SQL fragments for rows built as JSON in the database (one column per row parses faster in the
// driver than many). Timestamps go out as RFC 3339 UTC with microseconds (spec §2.10).

/** `expr` (a timestamptz) as e.g. 2026-01-08T10:00:00.123456Z; NULL stays NULL. */
export const utc = (expr: string): string => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
