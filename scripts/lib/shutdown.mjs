// Ctrl-C / SIGTERM handling for the launcher scripts: stop what was started, newest first.

export const say = (name) => (msg) => console.log(`[${name}] ${msg}`);

export function onShutdown(log) {
  const stops = [];
  const state = {
    stopping: false,
    add(stop) {
      stops.push(stop);
    },
    async now(code) {
      if (state.stopping) return;
      state.stopping = true;
      log("stopping…");
      for (const stop of stops.reverse()) await stop().catch((e) => console.error(e.message));
      process.exit(code);
    },
  };
  process.on("SIGINT", () => state.now(0));
  process.on("SIGTERM", () => state.now(0));
  return state;
}
