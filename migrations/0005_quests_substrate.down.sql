-- 0005_quests_substrate (down)
-- Drops everything 0005_quests_substrate.sql creates, in reverse dependency order.

DROP TRIGGER IF EXISTS update_quests_updated_at ON quests;
DROP TABLE IF EXISTS quests;
DROP TRIGGER IF EXISTS update_user_quest_progress_updated_at ON user_quest_progress;
DROP TABLE IF EXISTS user_quest_progress;
DROP TRIGGER IF EXISTS update_universal_quests_updated_at ON universal_quests;
DROP TABLE IF EXISTS universal_quests;

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 5;
  END IF;
END
$$;
