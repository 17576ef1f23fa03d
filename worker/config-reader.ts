// Reads environment variables for loadConfig (config.ts): each accessor validates one variable and
// records a problem (the variable's name and what is wrong, never its value) instead of throwing,
// so one pass reports every bad setting at once.

export interface ConfigProblem {
  variable: string;
  message: string;
}

export type Env = Record<string, unknown>;

export class Reader {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly env: Env) {}

  /** Unset, null (workerd's fromEnvironment for a missing variable) and blank all mean "not given". */
  str(name: string): string | null {
    const v = this.env[name];
    if (typeof v !== "string") return null;
    const t = v.trim();
    return t === "" ? null : t;
  }

  fail(variable: string, message: string): void {
    this.problems.push({ variable, message });
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      this.fail(name, `must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name);
    if (raw === null) return fallback;
    const v = raw.toLowerCase();
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    this.fail(name, "must be true or false");
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.str(name);
    if (raw === null) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.fail(name, `must be one of ${allowed.join(", ")}`);
    return fallback;
  }

  httpUrl(name: string, fallback: string): string {
    const raw = this.str(name);
    if (raw === null) return fallback;
    try {
      const u = new URL(raw);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("scheme");
      // The scheme in lower case ("HTTPS://…" is https too: HSTS and Secure cookies key on it).
      return (u.protocol + raw.slice(raw.indexOf(":") + 1)).replace(/\/+$/, "");
    } catch {
      this.fail(name, "must be an absolute http(s) URL");
      return fallback;
    }
  }
}
