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
  dispatch(request: Request, ctx: AppContext): Promise<Response | undefined>;
  /** Methods registered for a path, for 404/405 answers and their Allow header (no route matched). */
  allowedMethods(pathname: string): string[];
  /** The pattern of the route that takes (method, path), for logs and metrics; null when none does. */
  patternOf(method: string, pathname: string): string | null;
}

/** Runs before the handler of a matched route only (a request no route takes never reaches it). */
type BeforeHandler = (request: IRequest, ctx: AppContext) => Promise<void>;

/** The routes `register` mounts, each run after `before`. */
export function createRouteTable(register: (router: AppRouter) => void, before?: BeforeHandler): RouteTable {
  const itty = Router<IRequest, [AppContext]>();
  const routes = itty.routes as unknown as RouteEntry[];
  // itty runs a route's handlers in order until one returns something: `before` returns nothing.
  const chain = (handler: Handler) => (before ? [before, handler] : [handler]);
  const router: AppRouter = {
    get: (path, handler) => (itty.get(path, ...chain(handler)), router),
    post: (path, handler) => (itty.post(path, ...chain(handler)), router),
    put: (path, handler) => (itty.put(path, ...chain(handler)), router),
    patch: (path, handler) => (itty.patch(path, ...chain(handler)), router),
    delete: (path, handler) => (itty.delete(path, ...chain(handler)), router),
  };
  register(router);
  // A path some route names literally belongs to the literal routes only: `/api/blobs/:id` must not
  // take `/api/blobs/usage`, or a wrong method there would reach the :id handler (404) instead of
  // being a 405 with the literal path's Allow. Applied once, now that every route is registered.
  const literals = [...new Set(routes.map(([, , , path]) => path).filter((path) => !path.includes(":")))];
  const segments = (path: string) => path.split("/");
  for (const route of routes) {
    if (!route[3].includes(":")) continue;
    // Only the literal paths this route could take: same length, equal wherever it is literal.
    const own = segments(route[3]);
    const taken = literals.filter((literal) => {
      const other = segments(literal);
      return other.length === own.length && own.every((seg, i) => seg.startsWith(":") || seg === other[i]);
    });
    if (taken.length === 0) continue;
    const notLiteral = `(?!(?:${taken.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")})\\/*$)`;
    route[1] = new RegExp(`^${notLiteral}${route[1].source.replace(/^\^/, "")}`, route[1].flags);
  }
  return {
    dispatch: (request, ctx) => itty.fetch(request as IRequest, ctx) as Promise<Response | undefined>,
    allowedMethods(pathname) {
      const methods = new Set<string>();
      for (const [method, pattern] of routes) if (pattern.test(pathname)) methods.add(method);
      if (methods.has("GET")) methods.add("HEAD");
      if (methods.size > 0) methods.add("OPTIONS");
      return [...methods];
    },
    patternOf(method, pathname) {
      const wanted = method === "HEAD" ? "GET" : method;
      for (const [m, pattern, , path] of routes) if (m === wanted && pattern.test(pathname)) return path;
      return null;
    },
  };
}
