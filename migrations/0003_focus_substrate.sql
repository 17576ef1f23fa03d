-- 0003_focus_substrate (up)
-- Focus (pomodoro) sessions and the per-user pause state (spec §3.1).
-- No SQL functions or views: the rules live in worker/modules/focus (spec §7.21).
-- Runs inside the runner's transaction: no BEGIN/COMMIT.

CREATE TABLE focus_sessions (
    id                       UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mode                     TEXT NOT NULL DEFAULT 'focus' CHECK (mode IN ('focus', 'break', 'long_break')),
    duration_seconds         INTEGER NOT NULL CHECK (duration_seconds > 0),
    started_at               TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    completed_at             TIMESTAMPTZ,
    abandoned_at             TIMESTAMPTZ,
    expires_at               TIMESTAMPTZ,
    paused_at                TIMESTAMPTZ,
    paused_remaining_seconds INTEGER CHECK (paused_remaining_seconds >= 0),
    status                   TEXT NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'paused', 'completed', 'abandoned', 'expired')),
    xp_awarded               INTEGER NOT NULL DEFAULT 0 CHECK (xp_awarded >= 0),
    coins_awarded            INTEGER NOT NULL DEFAULT 0 CHECK (coins_awarded >= 0),
    task_id                  UUID,
    task_title               TEXT,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_focus_sessions_user_id ON focus_sessions (user_id);
CREATE INDEX idx_focus_sessions_status ON focus_sessions (status);
CREATE INDEX idx_focus_sessions_user_status ON focus_sessions (user_id, status);
CREATE INDEX idx_focus_sessions_started_at ON focus_sessions (started_at);
CREATE INDEX idx_focus_sessions_user_started ON focus_sessions (user_id, started_at DESC);
-- One live (active or paused) session per user, even when two starts race.
CREATE UNIQUE INDEX idx_focus_sessions_one_live ON focus_sessions (user_id) WHERE status IN ('active', 'paused');

CREATE TABLE focus_pause_state (
    id                     UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    session_id             UUID REFERENCES focus_sessions (id) ON DELETE CASCADE,
    mode                   TEXT NOT NULL DEFAULT 'focus' CHECK (mode IN ('focus', 'break', 'long_break')),
    time_remaining_seconds INTEGER NOT NULL DEFAULT 0 CHECK (time_remaining_seconds >= 0),
    paused_at              TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    created_at             TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_focus_pause_state_session_id ON focus_pause_state (session_id);

CREATE TRIGGER update_focus_pause_state_updated_at
    BEFORE UPDATE ON focus_pause_state
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
