-- 0005_quests_substrate (up)
-- Personal quests, plus the admin-defined universal quests and each user's progress on them
-- (spec §3.2). No SQL functions or views: the rules live in worker/modules/quests (spec §7.21).
-- Runs inside the runner's transaction: no BEGIN/COMMIT.

CREATE TABLE universal_quests (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    title         TEXT NOT NULL,
    description   TEXT,
    type          TEXT NOT NULL DEFAULT 'daily'
                  CHECK (type IN ('daily', 'weekly', 'monthly', 'one_time', 'repeatable')),
    xp_reward     INTEGER NOT NULL DEFAULT 10 CHECK (xp_reward >= 0),
    coin_reward   INTEGER NOT NULL DEFAULT 5 CHECK (coin_reward >= 0),
    target        INTEGER NOT NULL DEFAULT 1 CHECK (target >= 1),
    target_type   TEXT,
    target_config JSONB,
    skill_key     TEXT REFERENCES skill_definitions (key) ON DELETE SET NULL,
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_by    UUID REFERENCES users (id) ON DELETE SET NULL,
    sort_order    INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_universal_quests_active ON universal_quests (sort_order) WHERE is_active = TRUE;
CREATE INDEX idx_universal_quests_skill_key ON universal_quests (skill_key);
CREATE INDEX idx_universal_quests_created_by ON universal_quests (created_by);

CREATE TRIGGER update_universal_quests_updated_at
    BEFORE UPDATE ON universal_quests
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE user_quest_progress (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    quest_id        UUID NOT NULL REFERENCES universal_quests (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'available'
                    CHECK (status IN ('available', 'in_progress', 'completed', 'claimed')),
    progress        INTEGER NOT NULL DEFAULT 0 CHECK (progress >= 0),
    accepted_at     TIMESTAMPTZ,
    completed_at    TIMESTAMPTZ,
    claimed_at      TIMESTAMPTZ,
    last_reset_at   TIMESTAMPTZ,
    times_completed INTEGER NOT NULL DEFAULT 0 CHECK (times_completed >= 0),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (user_id, quest_id)
);

CREATE INDEX idx_user_quest_progress_quest_id ON user_quest_progress (quest_id);

CREATE TRIGGER update_user_quest_progress_updated_at
    BEFORE UPDATE ON user_quest_progress
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE quests (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             UUID REFERENCES users (id) ON DELETE CASCADE,
    title               TEXT NOT NULL,
    description         TEXT,
    category            TEXT NOT NULL,
    difficulty          TEXT NOT NULL DEFAULT 'starter'
                        CHECK (difficulty IN ('starter', 'easy', 'medium', 'hard', 'epic')),
    xp_reward           INTEGER NOT NULL DEFAULT 10 CHECK (xp_reward >= 0),
    coin_reward         INTEGER NOT NULL DEFAULT 5 CHECK (coin_reward >= 0),
    status              TEXT NOT NULL DEFAULT 'available'
                        CHECK (status IN ('available', 'accepted', 'completed', 'abandoned', 'expired')),
    is_active           BOOLEAN NOT NULL DEFAULT TRUE,
    is_universal        BOOLEAN NOT NULL DEFAULT FALSE,
    source_quest_id     UUID REFERENCES universal_quests (id) ON DELETE SET NULL,
    accepted_at         TIMESTAMPTZ,
    completed_at        TIMESTAMPTZ,
    expires_at          TIMESTAMPTZ,
    is_repeatable       BOOLEAN NOT NULL DEFAULT FALSE,
    repeat_frequency    TEXT CHECK (repeat_frequency IN ('daily', 'weekly', 'monthly')),
    last_completed_date DATE,
    streak_count        INTEGER NOT NULL DEFAULT 0 CHECK (streak_count >= 0),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_quests_user_id ON quests (user_id);
CREATE INDEX idx_quests_status ON quests (status);
CREATE INDEX idx_quests_user_status ON quests (user_id, status);
CREATE INDEX idx_quests_universal ON quests (is_universal) WHERE is_universal = TRUE;
CREATE INDEX idx_quests_expires_at ON quests (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX idx_quests_source_quest_id ON quests (source_quest_id);

CREATE TRIGGER update_quests_updated_at
    BEFORE UPDATE ON quests
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
