-- 0003_focus_substrate (down)
-- Drops everything 0003_focus_substrate.sql creates, in reverse dependency order.

DROP TRIGGER IF EXISTS update_focus_pause_state_updated_at ON focus_pause_state;
DROP TABLE IF EXISTS focus_pause_state;
DROP TABLE IF EXISTS focus_sessions;

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 3;
  END IF;
END
$$;
