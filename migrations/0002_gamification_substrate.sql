-- 0002_gamification_substrate (up)
-- The gamification engine's tables (spec §3.0): skill_definitions, user_skills,
-- achievement_definitions (+ seed), user_achievements, user_progress, user_wallet,
-- points_ledger, user_streaks; and a minimal user_settings (user_id, timezone) so "today"
-- can follow the user's timezone now — migration 0014 adds its other columns.
-- No SQL functions (award_xp & co.): the rules live once, in TypeScript (spec §7.21).
-- Runs inside the runner's transaction: no BEGIN/COMMIT.

-- ---------------------------------------------------------------------------
-- Skills
-- ---------------------------------------------------------------------------
CREATE TABLE skill_definitions (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    key             TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    description     TEXT,
    category        TEXT NOT NULL,
    icon            TEXT,
    max_level       INTEGER NOT NULL DEFAULT 10 CHECK (max_level >= 1),
    stars_per_level INTEGER NOT NULL DEFAULT 10 CHECK (stars_per_level >= 1),
    sort_order      INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_skill_definitions_category ON skill_definitions (category);
CREATE INDEX idx_skill_definitions_sort_order ON skill_definitions (sort_order);

CREATE TABLE user_skills (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    skill_key     TEXT NOT NULL REFERENCES skill_definitions (key) ON DELETE CASCADE,
    current_stars INTEGER NOT NULL DEFAULT 0 CHECK (current_stars >= 0),
    current_level INTEGER NOT NULL DEFAULT 0 CHECK (current_level >= 0),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (user_id, skill_key)
);

CREATE INDEX idx_user_skills_skill_key ON user_skills (skill_key);

CREATE TRIGGER update_user_skills_updated_at
    BEFORE UPDATE ON user_skills
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- ---------------------------------------------------------------------------
-- Achievements
-- ---------------------------------------------------------------------------
CREATE TABLE achievement_definitions (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    key            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    description    TEXT,
    category       TEXT NOT NULL,
    icon           TEXT,
    -- count {event_type, count} | streak {days} | milestone {level} | first {event_type}
    trigger_type   TEXT NOT NULL,
    trigger_config JSONB,
    reward_coins   INTEGER NOT NULL DEFAULT 0 CHECK (reward_coins >= 0),
    reward_xp      INTEGER NOT NULL DEFAULT 0 CHECK (reward_xp >= 0),
    is_hidden      BOOLEAN NOT NULL DEFAULT FALSE,
    sort_order     INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE user_achievements (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    achievement_key TEXT NOT NULL REFERENCES achievement_definitions (key) ON DELETE CASCADE,
    earned_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    notified        BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (user_id, achievement_key)
);

CREATE INDEX idx_user_achievements_achievement_key ON user_achievements (achievement_key);
CREATE INDEX idx_user_achievements_unnotified ON user_achievements (user_id) WHERE notified = FALSE;

-- The starting set, so achievements and the teaser work out of the box.
INSERT INTO achievement_definitions (key, name, description, category, icon, trigger_type, trigger_config, reward_coins, reward_xp, sort_order) VALUES
    ('first_focus', 'First Focus',    'Complete your first focus session', 'focus',       'timer',   'first',     '{"event_type": "focus_complete"}',              5,  10, 10),
    ('first_quest', 'Quest Starter',  'Complete your first quest',         'quests',      'flag',    'first',     '{"event_type": "quest_complete"}',              5,  10, 20),
    ('first_habit', 'Habit Former',   'Complete a habit for the first time', 'habits',    'check',   'first',     '{"event_type": "habit_complete"}',              5,  10, 30),
    ('focus_10',    'Deep Worker',    'Complete 10 focus sessions',        'focus',       'brain',   'count',     '{"event_type": "focus_complete", "count": 10}', 25,  50, 40),
    ('quests_10',   'Adventurer',     'Complete 10 quests',                'quests',      'map',     'count',     '{"event_type": "quest_complete", "count": 10}', 25,  50, 50),
    ('streak_7',    'Week Warrior',   'Be active 7 days in a row',         'streaks',     'flame',   'streak',    '{"days": 7}',                                   50, 100, 60),
    ('level_5',     'Rising Star',    'Reach level 5',                     'progression', 'star',    'milestone', '{"level": 5}',                                  50,   0, 70),
    ('streak_30',   'Unstoppable',    'Be active 30 days in a row',        'streaks',     'fire',    'streak',    '{"days": 30}',                                 200, 300, 80),
    ('level_10',    'Veteran',        'Reach level 10',                    'progression', 'crown',   'milestone', '{"level": 10}',                                100,   0, 90);

-- ---------------------------------------------------------------------------
-- Progress, wallet, ledger, streaks
-- ---------------------------------------------------------------------------
-- total_xp is the XP inside the current level (what the level bar shows), not lifetime XP;
-- lifetime XP is the sum of the ledger.
CREATE TABLE user_progress (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    total_xp          BIGINT NOT NULL DEFAULT 0 CHECK (total_xp >= 0),
    current_level     INTEGER NOT NULL DEFAULT 1 CHECK (current_level >= 1),
    xp_to_next_level  INTEGER NOT NULL DEFAULT 100 CHECK (xp_to_next_level > 0),
    total_skill_stars INTEGER NOT NULL DEFAULT 0 CHECK (total_skill_stars >= 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_user_progress_current_level ON user_progress (current_level);

CREATE TRIGGER update_user_progress_updated_at
    BEFORE UPDATE ON user_progress
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- coins always equals the sum of the user's ledger coins; it can never go below zero.
CREATE TABLE user_wallet (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    coins        BIGINT NOT NULL DEFAULT 0 CHECK (coins >= 0),
    total_earned BIGINT NOT NULL DEFAULT 0 CHECK (total_earned >= 0),
    total_spent  BIGINT NOT NULL DEFAULT 0 CHECK (total_spent >= 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TRIGGER update_user_wallet_updated_at
    BEFORE UPDATE ON user_wallet
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- One row per credit or debit; the same idempotency key never pays twice.
CREATE TABLE points_ledger (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    event_id        UUID,
    coins           INTEGER NOT NULL DEFAULT 0,
    xp              INTEGER NOT NULL DEFAULT 0 CHECK (xp >= 0),
    skill_stars     INTEGER NOT NULL DEFAULT 0 CHECK (skill_stars >= 0),
    skill_key       TEXT REFERENCES skill_definitions (key) ON DELETE SET NULL,
    reason          TEXT,
    idempotency_key TEXT UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_points_ledger_user_id ON points_ledger (user_id);
CREATE INDEX idx_points_ledger_event_type ON points_ledger (event_type);
CREATE INDEX idx_points_ledger_created_at ON points_ledger (created_at);
CREATE INDEX idx_points_ledger_user_created ON points_ledger (user_id, created_at DESC);
-- Achievement progress counts a user's events of one type.
CREATE INDEX idx_points_ledger_user_event_type ON points_ledger (user_id, event_type);
CREATE INDEX idx_points_ledger_skill_key ON points_ledger (skill_key);

CREATE TABLE user_streaks (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    streak_type        TEXT NOT NULL CHECK (streak_type IN ('daily_activity', 'focus', 'habit')),
    current_streak     INTEGER NOT NULL DEFAULT 0 CHECK (current_streak >= 0),
    longest_streak     INTEGER NOT NULL DEFAULT 0 CHECK (longest_streak >= current_streak),
    last_activity_date DATE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (user_id, streak_type)
);

CREATE TRIGGER update_user_streaks_updated_at
    BEFORE UPDATE ON user_streaks
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- ---------------------------------------------------------------------------
-- user_settings (minimal): the timezone that decides a user's "today".
-- Migration 0014 (platform) owns the rest of this table and adds its columns.
-- ---------------------------------------------------------------------------
CREATE TABLE user_settings (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    timezone   TEXT,                         -- IANA name, e.g. Europe/Berlin; NULL = UTC
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TRIGGER update_user_settings_updated_at
    BEFORE UPDATE ON user_settings
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
