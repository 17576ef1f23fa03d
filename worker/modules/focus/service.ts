// Focus session lifecycle (spec §3.1): start, pause/resume, complete (rewarded), abandon.
// Functions run inside the caller's transaction.
import type { Sql, Tx } from "../../db/sql";
import { withUserLock } from "../../db/user-lock";
import { AppError } from "../../http/errors";
import { awardPoints } from "../gamification/service";
import {
  abandonLiveSessions, finishSession, insertSession, lockSession, lockSessionForAward, pauseSession, resumeSession, takePauseState,
} from "./repo";
import { focusReward, isLive, secondsRemaining, type FocusMode } from "./rules";
import { focusSessionOf, type FocusRow, type PauseState, type StartFocus } from "./schema";

/**
 * Every focus write first takes the user's focus lock, sent together with its first statement (no
 * extra round trip). The writes lock a session row and the pause state in different orders (resume
 * finds the session through the pause state), so without it two at once could deadlock, and a start
 * could miss a pause committed while it waited and leave that pause state behind.
 */
const focusLocked = <T>(tx: Sql, userId: string, first: () => Promise<T>): Promise<T> => withUserLock(tx, "focus", userId, first);

/** Abandons whatever was live and starts a new session (one live session per user). */
export async function startSession(tx: Sql, userId: string, input: StartFocus) {
  // Under the focus lock no other start runs meanwhile, so the one-live-session index holds.
  await focusLocked(tx, userId, () => abandonLiveSessions(tx, userId));
  return focusSessionOf(await insertSession(tx, userId, input));
}

export async function pauseLatest(tx: Sql, userId: string): Promise<PauseState> {
  const session = await focusLocked(tx, userId, () => lockSession(tx, userId, null));
  if (!session) throw new AppError("not_found", "No active session to pause");
  if (session.status !== "active") throw new AppError("bad_request", "Session is not active");
  return pauseSession(tx, userId, session, secondsRemaining(session));
}

export async function resumePaused(tx: Sql, userId: string) {
  const pause = await focusLocked(tx, userId, () => takePauseState(tx, userId));
  if (!pause) throw new AppError("not_found", "No paused session to resume");
  if (!pause.session_id) throw new AppError("not_found", "No paused session to resume");
  const session = await resumeSession(tx, userId, pause.session_id, pause.remaining);
  if (!session) throw new AppError("not_found", "No paused session to resume");
  return focusSessionOf(session);
}

/** The session, if it exists and is live (404 / 400 otherwise). */
function live(session: FocusRow | null, verb: string): FocusRow {
  if (!session) throw new AppError("not_found", "Session not found");
  if (!isLive(session.status)) throw new AppError("bad_request", `Session cannot be ${verb} (status: ${session.status})`);
  return session;
}

/** Completes a live session and credits its reward (key focus_complete_{id}). */
export async function completeSession(tx: Tx, userId: string, id: string) {
  const key = `focus_complete_${id}`;
  // Two round trips in all: the focus lock, the session's lock and the award's (in that order),
  // then the session's update with the award's writes and COMMIT.
  const { session: locked, state } = await focusLocked(tx, userId, () => lockSessionForAward(tx, userId, id, key));
  const session = live(locked, "completed");
  const mode = session.mode as FocusMode;
  const reward = focusReward(mode, session.duration_seconds);
  // The session's update, the award's writes and COMMIT go out together (the award sends COMMIT
  // after its own checks): a failure of any of them is an SQL error that undoes them all.
  const [done, award] = await Promise.all([
    finishSession(tx, userId, id, { status: "completed", ...reward }),
    awardPoints(tx, userId, {
      eventType: "focus_complete",
      eventId: id,
      xp: reward.xp,
      coins: reward.coins,
      reason: `Completed a ${mode.replace("_", " ")} session`,
      key,
      streaks: mode === "focus" ? ["focus"] : [],
    }, state, tx),
  ]);
  return {
    session: focusSessionOf(done),
    xp_awarded: reward.xp,
    coins_awarded: reward.coins,
    leveled_up: award.leveledUp,
    new_level: award.newLevel,
  };
}

export async function abandonSession(tx: Sql, userId: string, id: string) {
  live(await focusLocked(tx, userId, () => lockSession(tx, userId, id)), "abandoned");
  return focusSessionOf(await finishSession(tx, userId, id, { status: "abandoned" }));
}
