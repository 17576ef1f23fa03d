// The level curve (spec §3.0). A user's progress is a level plus the XP earned inside it;
// lifetime XP is the sum of the ledger, and adding it from level 1 recovers the same state.

/** XP needed to go from `level` to the next one: floor(100 · L^1.5). L·√L is exact for squares. */
export function xpForLevel(level: number): number {
  return Math.floor(100 * level * Math.sqrt(level));
}

export interface LevelState {
  level: number;
  /** XP inside the current level, 0 ≤ xp < xpForLevel(level). */
  xp: number;
}

export interface LevelStep extends LevelState {
  toNext: number;
  leveledUp: boolean;
}

/** Adds non-negative XP, carrying the remainder across as many level-ups as it pays for. */
export function addXp(state: LevelState, gained: number): LevelStep {
  if (!Number.isInteger(gained) || gained < 0) throw new RangeError(`XP awards are whole and non-negative, got ${gained}`);
  let { level, xp } = state;
  xp += gained;
  while (xp >= xpForLevel(level)) {
    xp -= xpForLevel(level);
    level += 1;
  }
  return { level, xp, toNext: xpForLevel(level), leveledUp: level > state.level };
}

/** What the level bar shows: trunc(xp / toNext · 100). */
export function progressPercent(xp: number, toNext: number): number {
  return toNext > 0 ? Math.trunc((xp / toNext) * 100) : 0;
}

/** A skill's level: one per `starsPerLevel` stars, capped at `maxLevel`. */
export function skillLevel(stars: number, starsPerLevel: number, maxLevel: number): number {
  return Math.min(maxLevel, Math.floor(stars / starsPerLevel));
}
