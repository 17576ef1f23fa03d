-- 0004_habits_goals_substrate (up)
-- Habits with their daily logs, and goals with milestones (spec §3.3, §3.4).
-- No SQL functions or views: the rules live in worker/modules/{habits,goals} (spec §7.21).
-- Runs inside the runner's transaction: no BEGIN/COMMIT.

CREATE TABLE habits (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    description       TEXT,
    frequency         TEXT NOT NULL DEFAULT 'daily' CHECK (frequency IN ('daily', 'weekly', 'custom')),
    target_count      INTEGER NOT NULL DEFAULT 1 CHECK (target_count >= 1),
    custom_days       TEXT,                 -- JSON array
    icon              TEXT,
    color             TEXT,
    is_active         BOOLEAN NOT NULL DEFAULT TRUE,
    current_streak    INTEGER NOT NULL DEFAULT 0 CHECK (current_streak >= 0),
    longest_streak    INTEGER NOT NULL DEFAULT 0 CHECK (longest_streak >= 0),
    last_completed_at TIMESTAMPTZ,
    sort_order        INTEGER NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_habits_user_id ON habits (user_id);
CREATE INDEX idx_habits_user_active ON habits (user_id) WHERE is_active = TRUE;

CREATE TRIGGER update_habits_updated_at
    BEFORE UPDATE ON habits
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- completed_date is the user's local date (their timezone), written by the application.
CREATE TABLE habit_logs (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    habit_id       UUID NOT NULL REFERENCES habits (id) ON DELETE CASCADE,
    user_id        UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    completed_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    completed_date DATE NOT NULL DEFAULT CURRENT_DATE,
    notes          TEXT,
    UNIQUE (habit_id, completed_date)
);

CREATE INDEX idx_habit_logs_habit_id ON habit_logs (habit_id);
CREATE INDEX idx_habit_logs_user_id ON habit_logs (user_id);
CREATE INDEX idx_habit_logs_completed_date ON habit_logs (completed_date);
CREATE INDEX idx_habit_logs_user_date ON habit_logs (user_id, completed_date);

CREATE TABLE goals (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT,
    category     TEXT,
    target_date  DATE,
    started_at   TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'abandoned', 'paused')),
    progress     INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    priority     INTEGER NOT NULL DEFAULT 0,
    sort_order   INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_goals_user_id ON goals (user_id);
CREATE INDEX idx_goals_user_status ON goals (user_id, status);

CREATE TRIGGER update_goals_updated_at
    BEFORE UPDATE ON goals
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE goal_milestones (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    goal_id      UUID NOT NULL REFERENCES goals (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT,
    is_completed BOOLEAN NOT NULL DEFAULT FALSE,
    completed_at TIMESTAMPTZ,
    sort_order   INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX idx_goal_milestones_goal_id ON goal_milestones (goal_id);
