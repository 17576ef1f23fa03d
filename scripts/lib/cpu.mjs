// CPU time the benchmark's processes use, read from /proc (Linux): workerd and PostgreSQL
// processes by name, and the whole machine. Lets the benchmark say where a request's time goes.
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

function processTicks() {
  const ticks = { workerd: 0, postgres: 0 };
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime + stime, plus cutime + cstime: the time of children it has reaped, so a backend
      // that exits during the measurement still counts (through the postmaster).
      const used = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      if (name.startsWith("workerd")) ticks.workerd += used;
      else if (name === "postgres") ticks.postgres += used;
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks;
}

function machineTicks() {
  const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const idle = values[3] + values[4]; // idle + iowait
  return { busy: values.reduce((a, b) => a + b, 0) - idle, all: values.reduce((a, b) => a + b, 0) };
}

/** Starts a measurement; the returned function gives CPU ms used since, per process kind and machine-wide. */
export function cpuMeter() {
  if (!existsProc()) return () => null;
  const p0 = processTicks();
  const m0 = machineTicks();
  return () => {
    const p1 = processTicks();
    const m1 = machineTicks();
    return {
      workerdMs: (p1.workerd - p0.workerd) * TICK_MS,
      postgresMs: (p1.postgres - p0.postgres) * TICK_MS,
      machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.all - m0.all),
    };
  };
}

function existsProc() {
  try {
    readFileSync("/proc/stat");
    return true;
  } catch {
    return false;
  }
}
