// Child processes that stop when we do. A server we start (PostgreSQL, wrangler) does not watch
// its parent, so if this Node process is killed outright (SIGKILL, a crash, an IDE's stop button)
// it would keep running, holding its port and data. spawnTied runs it under `sh`, which first
// leaves a watcher on a pipe to us (fd 3) and then becomes the program (exec: same pid). When the
// pipe ends — untie(), our exit, or our death — the watcher sends the program SIGINT.
// Plain sh rather than a library: nothing on npm ties a child's life to its parent's without
// native code.
import { spawn } from "node:child_process";

// The watcher ignores the signals a closing terminal sends the whole job, so only the pipe's end
// stops it; the program gets neither fd 3 nor the watcher's signal dispositions.
// A line on the pipe (sent once the program has exited) ends the watcher quietly; the pipe's end
// without one (untie(), or our death) makes it signal the program.
const TIED = `{ trap '' HUP INT TERM; read -r _ <&3 || kill -INT $$; } >/dev/null 2>&1 </dev/null &
exec "$@" 3<&-`;

/**
 * spawn(command, args, options) that gets SIGINT when we end or call child.untie(). options.stdio
 * covers fds 0–2 only ("inherit", "pipe", "ignore" or an array of three).
 */
export function spawnTied(command, args, options = {}) {
  const base = options.stdio ?? "pipe";
  const stdio = [...(Array.isArray(base) ? base : [base, base, base]), "pipe"];
  const child = spawn("sh", ["-c", TIED, "sh", command, ...args], { ...options, stdio });
  const tie = child.stdio[3];
  tie.on("error", () => {}); // the watcher is gone: nothing left to tell
  child.untie = () => tie.end();
  child.once("exit", () => tie.end("\n")); // the watcher ends with the program, signalling nothing
  return child;
}
