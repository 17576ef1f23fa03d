import type { AppContext } from "../context";
import { AppError } from "../http/errors";
import { changesState, passesCsrf } from "./csrf";
import { devBypassApplies, devUser } from "./dev-bypass";
import { exemptFromApiLimit, type Hit } from "./rate-limit";
import { readSessionToken } from "./session-cookie";
import { findLiveSession, rotateSession, toAuthUser, touchIfStale } from "./sessions";
import { isAdmin, type AuthUser } from "./user";

const resolved = new WeakMap<AppContext, Promise<AuthUser | null>>();
const apiHits = new WeakMap<AppContext, Hit>();

async function resolve(ctx: AppContext, request: Request): Promise<AuthUser | null> {
  if (devBypassApplies(ctx, request)) return devUser(ctx);
  const token = await readSessionToken(ctx.config, request);
  if (token === null) return null;
  const db = ctx.db();
  // A state change that passes the CSRF check will be counted against the user's API rate limit:
  // the lookup does that in the same statement. (One that fails it is refused uncounted, and one
  // that ends a session is never limited, so it is not counted either.)
  const counted = changesState(request.method) && passesCsrf(ctx, request) && !exemptFromApiLimit(new URL(request.url).pathname);
  const found = await findLiveSession(db, token, counted);
  if (found === null) return null;
  const { row, hit } = found;
  if (hit) apiHits.set(ctx, hit);
  const user = toAuthUser(row);
  if (row.needs_rotation) {
    // Privileges changed out of band (role granted or revoked): new session id now.
    const cookie = await db.transaction((tx) => rotateSession(tx, ctx, user, "privilege_change"));
    if (cookie) ctx.cookies.push(cookie);
  } else {
    await touchIfStale(db, ctx, row);
  }
  return user;
}

/**
 * This request's count against the signed-in user's API rate limit when the session lookup
 * already made it (see resolve), else null.
 */
export function countedApiHit(ctx: AppContext): Hit | null {
  return apiHits.get(ctx) ?? null;
}

/** The signed-in user or null; resolved once per request. */
export async function currentUser(ctx: AppContext, request: Request): Promise<AuthUser | null> {
  let pending = resolved.get(ctx);
  if (!pending) {
    pending = resolve(ctx, request);
    resolved.set(ctx, pending);
  }
  const user = await pending;
  ctx.user = user;
  return user;
}

/** 401 unauthorized unless a valid, live session (or the local development bypass) is present. */
export async function requireUser(ctx: AppContext, request: Request): Promise<AuthUser> {
  const user = await currentUser(ctx, request);
  if (user === null) throw new AppError("unauthorized", "Unauthorized");
  return user;
}

/** 401 without a session, 403 forbidden without the admin role or admin:access. */
export async function requireAdmin(ctx: AppContext, request: Request): Promise<AuthUser> {
  const user = await requireUser(ctx, request);
  if (!isAdmin(user)) throw new AppError("forbidden", "Forbidden");
  return user;
}

/** 403 forbidden unless the caller holds the entitlement (or is an admin). */
export async function requireEntitlement(ctx: AppContext, request: Request, entitlement: string): Promise<AuthUser> {
  const user = await requireUser(ctx, request);
  if (!user.entitlements.includes(entitlement) && user.role !== "admin") {
    throw new AppError("forbidden", `Missing entitlement ${entitlement}`);
  }
  return user;
}
