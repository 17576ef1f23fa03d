// Personal quests through HTTP (spec §3.2): defaults, state machine, rewards credited, streaks.
import { beforeEach, describe, expect, it } from "vitest";
import { awayFromLocalMidnight } from "../support/clock";
import { expectLedgerInvariant, newUser, setTimezone, sql, wallet, type User } from "../support/economy";
import { localDate } from "../../worker/modules/gamification/today";

describe("quests", () => {
  let u: User;
  // Each test dates its steps by the user's 'today': keep them all on one side of midnight.
  beforeEach(() => awayFromLocalMidnight([null, "Pacific/Kiritimati"]));
  beforeEach(async () => {
    u = await newUser();
  });

  it.each([
    ["starter", 10, 5],
    ["easy", 25, 10],
    ["medium", 50, 25],
    ["hard", 100, 50],
    ["epic", 250, 100],
  ])("a %s quest defaults to %i XP and %i coins", async (difficulty, xp, coins) => {
    const q = await u.ok("POST", "/api/quests", { title: "  Read a chapter ", category: "learning", difficulty });
    expect(q).toMatchObject({
      title: "Read a chapter", category: "learning", difficulty, xp_reward: xp, coin_reward: coins, status: "available",
      description: null, is_repeatable: false, streak_count: 0, accepted_at: null, completed_at: null, expires_at: null,
    });
  });

  it("treats null like an absent field: the difficulty's rewards and the defaults apply", async () => {
    const q = await u.ok("POST", "/api/quests", {
      title: "Tidy", category: "home", difficulty: null, xp_reward: null, coin_reward: null, is_repeatable: null, repeat_frequency: null,
    });
    expect(q).toMatchObject({ difficulty: "starter", xp_reward: 10, coin_reward: 5, is_repeatable: false });
  });

  it("keeps custom rewards, including zero", async () => {
    const q = await u.ok("POST", "/api/quests", { title: "Free", category: "misc", difficulty: "epic", xp_reward: 0, coin_reward: 7 });
    expect(q).toMatchObject({ xp_reward: 0, coin_reward: 7 });
  });

  it("caps open quests at 200 per account (409); finished ones do not count", async () => {
    await sql("INSERT INTO quests (user_id, title, category) SELECT $1, 'q' || i, 'health' FROM generate_series(1, 199) i", [u.id]);
    const last = await u.ok("POST", "/api/quests", { title: "the 200th", category: "health" });
    const over = await u.send("/api/quests", { title: "one too many", category: "health" });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ error: "conflict", message: "You already have 200 open quests, the most one account can have" });
    await u.ok("POST", `/api/quests/${last.id}/complete`);
    expect((await u.send("/api/quests", { title: "room again", category: "health" })).status).toBe(200);
  });

  it("validates the body and the status filter (422 per field)", async () => {
    const r = await u.send("/api/quests", { title: " ", difficulty: "legendary", xp_reward: -1, coin_reward: 10.5, repeat_frequency: "hourly" });
    expect(r.status).toBe(422);
    expect(r.body.details.map((d: { field: string }) => d.field).sort()).toEqual(["category", "coin_reward", "difficulty", "repeat_frequency", "title", "xp_reward"]);
    const bad = await u.get("/api/quests?status=done");
    expect(bad.status).toBe(422);
    expect(bad.body.details[0].field).toBe("status");
    expect((await u.send("/api/quests", "not an object")).status).toBe(422);
    // Text PostgreSQL would refuse (a NUL character) is a 422 too, never a 500.
    const nul = await u.send("/api/quests", { title: "a\u0000b", category: "x" });
    expect(nul.status).toBe(422);
    expect(nul.body.details).toEqual([{ field: "title", message: "Must not contain NUL characters" }]);
    // Half a surrogate pair (valid JSON, "\ud800") cannot be stored as UTF-8 text: 422, not a silent U+FFFD.
    const half = await u.send("/api/quests", { title: "a\ud800b", category: "x\udc00" });
    expect(half.status).toBe(422);
    expect(half.body.details.map((d: { field: string }) => d.field).sort()).toEqual(["category", "title"]);
    expect((await u.get("/api/quests")).body.data.total).toBe(0);
  });

  it("lists the caller's quests, newest first, filtered by status", async () => {
    const a = await u.ok("POST", "/api/quests", { title: "A", category: "x" });
    const b = await u.ok("POST", "/api/quests", { title: "B", category: "x" });
    await u.ok("POST", `/api/quests/${a.id}/accept`);
    const other = await newUser();
    await other.ok("POST", "/api/quests", { title: "Theirs", category: "x" });
    const all = await u.ok("GET", "/api/quests");
    expect(all.total).toBe(2);
    expect(all.quests.map((q: { id: string }) => q.id)).toEqual([b.id, a.id]);
    const accepted = await u.ok("GET", "/api/quests?status=accepted");
    expect(accepted).toEqual({ quests: [expect.objectContaining({ id: a.id, status: "accepted" })], total: 1 });
    expect(accepted.quests[0].accepted_at).toMatch(/Z$/);
  });

  it("runs the state machine with the spec's messages", async () => {
    const q = await u.ok("POST", "/api/quests", { title: "Q", category: "x" });
    await u.ok("POST", `/api/quests/${q.id}/accept`);
    const again = await u.send(`/api/quests/${q.id}/accept`);
    expect(again.status).toBe(400);
    expect(again.body.message).toBe("Quest cannot be accepted (status: accepted)");
    await u.ok("POST", `/api/quests/${q.id}/abandon`);
    expect((await u.send(`/api/quests/${q.id}/abandon`)).body.message).toBe("Quest cannot be abandoned (status: abandoned)");
    expect((await u.send(`/api/quests/${q.id}/complete`)).body.message).toBe("Quest cannot be completed (status: abandoned)");
    expect((await u.ok("GET", `/api/quests/${q.id}`)).status).toBe("abandoned");
  });

  it("completes from available or accepted, crediting XP and coins once (the coin BUG is fixed)", async () => {
    const hard = await u.ok("POST", "/api/quests", { title: "Hard", category: "x", difficulty: "hard" });
    const done = await u.ok("POST", `/api/quests/${hard.id}/complete`);
    expect(done).toMatchObject({ xp_awarded: 100, coins_awarded: 50, leveled_up: true, new_level: 2 });
    expect(done.quest).toMatchObject({ id: hard.id, status: "completed", streak_count: 0 });
    // 100 XP + "Quest Starter" (10 XP) = 110 → level 2 with 10; 50 + 5 coins.
    expect(await u.ok("GET", "/api/gamification/summary")).toMatchObject({ current_level: 2, total_xp: 10, xp_to_next_level: 282, coins: 55 });
    expect((await wallet(u)).coins).toBe(55);

    const again = await u.send(`/api/quests/${hard.id}/complete`);
    expect(again.status).toBe(400);
    expect(again.body.message).toBe("Quest cannot be completed (status: completed)");
    const rows = await sql("SELECT idempotency_key, xp, coins FROM points_ledger WHERE user_id = $1 AND event_type = 'quest_complete'", [u.id]);
    expect(rows).toEqual([{ idempotency_key: `quest_complete_${hard.id}_${localDate(null)}`, xp: 100, coins: 50 }]);

    const accepted = await u.ok("POST", "/api/quests", { title: "Easy", category: "x", difficulty: "easy" });
    await u.ok("POST", `/api/quests/${accepted.id}/accept`);
    expect(await u.ok("POST", `/api/quests/${accepted.id}/complete`)).toMatchObject({ xp_awarded: 25, coins_awarded: 10, leveled_up: false, new_level: 2 });
    expect((await wallet(u)).coins).toBe(65);
    await expectLedgerInvariant(u);
  });

  it("a repeatable quest continues its streak from yesterday, in the user's timezone", async () => {
    await setTimezone(u, "Pacific/Kiritimati");
    const today = localDate("Pacific/Kiritimati");
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const q = await u.ok("POST", "/api/quests", { title: "Daily", category: "x", is_repeatable: true, repeat_frequency: "daily" });
    await sql("UPDATE quests SET last_completed_date = $2, streak_count = 4 WHERE id = $1", [q.id, yesterday]);
    const done = await u.ok("POST", `/api/quests/${q.id}/complete`);
    expect(done.quest.streak_count).toBe(5);
    const [row] = await sql<{ d: string; key: string }>(
      `SELECT q.last_completed_date::text AS d, l.idempotency_key AS key FROM quests q JOIN points_ledger l ON l.event_id = q.id WHERE q.id = $1`,
      [q.id],
    );
    expect(row).toEqual({ d: today, key: `quest_complete_${q.id}_${today}` });

    const gap = await u.ok("POST", "/api/quests", { title: "Gap", category: "x", is_repeatable: true });
    await sql("UPDATE quests SET last_completed_date = $2, streak_count = 9 WHERE id = $1", [gap.id, "2020-01-01"]);
    expect((await u.ok("POST", `/api/quests/${gap.id}/complete`)).quest.streak_count).toBe(1);
  });

  it("answers 404 for unknown, malformed and other users' quest ids", async () => {
    const other = await newUser();
    const theirs = await other.ok("POST", "/api/quests", { title: "Theirs", category: "x" });
    for (const [method, path] of [
      ["GET", `/api/quests/${theirs.id}`],
      ["POST", `/api/quests/${theirs.id}/complete`],
      ["POST", `/api/quests/${theirs.id}/accept`],
      ["POST", "/api/quests/not-a-uuid/abandon"],
      ["GET", "/api/quests/00000000-0000-4000-8000-000000000000"],
    ] as const) {
      const r = await u.call(method, path);
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ error: "not_found", message: "Quest not found" });
    }
    expect((await other.ok("GET", `/api/quests/${theirs.id}`)).status).toBe("available");
  });
});
