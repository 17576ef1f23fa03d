-- 0003_focus_substrate (down)
-- Drops everything 0003_focus_substrate.sql creates, in reverse dependency order.

DROP TRIGGER IF EXISTS update_focus_pause_state_updated_at ON focus_pause_state;
DROP TABLE IF EXISTS focus_pause_state;
DROP TABLE IF EXISTS focus_sessions;
