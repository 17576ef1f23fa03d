// Ctrl-C / SIGTERM / SIGHUP handling for the launcher scripts: stop what was started, newest first.
//
// Register each child's stop as soon as the child is spawned (not once it is ready), so that a
// signal at any moment of start-up stops it. A stop registered while the shutdown is under way is
// still run. A signal before ready() exits 128 + the signal number (start-up was interrupted);
// after ready() it is the normal way to stop, and exits 0.

export const say = (name) => (msg) => console.log(`[${name}] ${msg}`);

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export function onShutdown(log) {
  const stops = [];
  let ready = false;
  // With the terminal gone (SIGHUP), writing to it fails: that must not stop the shutdown.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  const state = {
    stopping: false,
    add(stop) {
      stops.push(stop);
    },
    /** Start-up is over: from now on a signal is a normal stop (exit 0). */
    ready() {
      ready = true;
    },
    async now(code) {
      if (state.stopping) return;
      state.stopping = true;
      if (stops.length > 0) log("stopping…");
      while (stops.length > 0) {
        const stop = stops.pop();
        try {
          await stop();
        } catch (e) {
          console.error(e?.message ?? e);
        }
      }
      process.exit(code);
    },
  };
  for (const [signal, number] of Object.entries(SIGNALS)) {
    process.on(signal, () => {
      if (!ready && !state.stopping) log(`${signal} during start-up`);
      state.now(ready ? 0 : 128 + number);
    });
  }
  return state;
}
