import { DurableObject } from "cloudflare:workers";
import { handle } from "./app";
import { createServices, loadConfigCached } from "./services";
import type { Services } from "./context";

export interface WorkerEnv {
  APP_HOST: DurableObjectNamespace;
  [name: string]: unknown;
}

/**
 * Hosts the app where the database pool can live across requests. workerd forbids using an I/O
 * object (a socket) from a request other than the one that created it, but a Durable Object's
 * state persists: requests forwarded here share one pool per workerd process.
 */
export class AppHost extends DurableObject<WorkerEnv> {
  private readonly services: Services;

  constructor(state: DurableObjectState, env: WorkerEnv) {
    super(state, env);
    this.services = createServices(env, (work) => state.waitUntil(work));
  }

  override fetch(request: Request): Promise<Response> {
    return handle(request, this.services);
  }
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const { config } = loadConfigCached(env);
    if (config.database.pooling === "shared") {
      return env.APP_HOST.get(env.APP_HOST.idFromName("app-host")).fetch(request);
    }
    // Per-request database: one connection for this request, closed once the response is built.
    const background: Promise<unknown>[] = [];
    const services = createServices(env, (work) => background.push(work), 1);
    const response = await handle(request, services);
    // The connection closes once the response and any housekeeping it started are done.
    ctx.waitUntil(Promise.allSettled(background).then(() => (services.dbStats() === null ? undefined : services.db().end())));
    return response;
  },
} satisfies ExportedHandler<WorkerEnv>;
