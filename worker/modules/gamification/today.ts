// "Today" is the user's local calendar date: their user_settings.timezone when it names a real
// IANA zone, otherwise UTC (spec §2.10, intended). Dates travel as YYYY-MM-DD strings.

// One formatter per zone name seen (null: not a zone this runtime knows), so an unknown name does
// not cost a thrown exception on every award. Names come from the database; the cache is bounded.
const formatters = new Map<string, Intl.DateTimeFormat | null>();
const MAX_CACHED_ZONES = 1000;

function formatter(timeZone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    } catch {
      f = null; // fall back to UTC
    }
    if (formatters.size >= MAX_CACHED_ZONES) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** The calendar date at instant `at` in `timeZone` (UTC when absent or unknown). */
export function localDate(timeZone: string | null | undefined, at: Date = new Date()): string {
  const f = timeZone ? formatter(timeZone) : null;
  if (f === null) return at.toISOString().slice(0, 10);
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** date ± days, in calendar days. */
export function addDays(date: string, days: number): string {
  const t = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(t)) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  return new Date(t + days * 86_400_000).toISOString().slice(0, 10);
}
