-- 0004_habits_goals_substrate (down)
-- Drops everything 0004_habits_goals_substrate.sql creates, in reverse dependency order.

DROP TABLE IF EXISTS goal_milestones;
DROP TRIGGER IF EXISTS update_goals_updated_at ON goals;
DROP TABLE IF EXISTS goals;
DROP TABLE IF EXISTS habit_logs;
DROP TRIGGER IF EXISTS update_habits_updated_at ON habits;
DROP TABLE IF EXISTS habits;

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 4;
  END IF;
END
$$;
