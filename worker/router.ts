import { Router, type IRequest } from "itty-router";
import type { AppContext } from "./context";

export type Handler = (request: IRequest, ctx: AppContext) => Response | Promise<Response>;

export interface AppRouter {
  get(path: string, handler: Handler): AppRouter;
  post(path: string, handler: Handler): AppRouter;
  put(path: string, handler: Handler): AppRouter;
  patch(path: string, handler: Handler): AppRouter;
  delete(path: string, handler: Handler): AppRouter;
}

type RouteEntry = [method: string, pattern: RegExp, handlers: unknown[], path: string];

export interface RouteTable {
  router: AppRouter;
  dispatch(request: Request, ctx: AppContext): Promise<Response | undefined>;
  /** Methods registered for a path, for 405 answers and their Allow header. */
  allowedMethods(pathname: string): string[];
}

export function createRouteTable(): RouteTable {
  const itty = Router<IRequest, [AppContext]>();
  const routes = itty.routes as unknown as RouteEntry[];
  return {
    router: itty as unknown as AppRouter,
    dispatch: (request, ctx) => itty.fetch(request as IRequest, ctx) as Promise<Response | undefined>,
    allowedMethods(pathname) {
      const methods = new Set<string>();
      for (const [method, pattern] of routes) if (pattern.test(pathname)) methods.add(method);
      if (methods.has("GET")) methods.add("HEAD");
      if (methods.size > 0) methods.add("OPTIONS");
      return [...methods];
    },
  };
}
