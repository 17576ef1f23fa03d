-- 0002_gamification_substrate (down)
-- Drops everything 0002_gamification_substrate.sql creates, in reverse dependency order
-- (the seeded achievement definitions go with their table).

DROP TRIGGER IF EXISTS update_user_settings_updated_at ON user_settings;
DROP TABLE IF EXISTS user_settings;

DROP TRIGGER IF EXISTS update_user_streaks_updated_at ON user_streaks;
DROP TABLE IF EXISTS user_streaks;

DROP TABLE IF EXISTS points_ledger;

DROP TRIGGER IF EXISTS update_user_wallet_updated_at ON user_wallet;
DROP TABLE IF EXISTS user_wallet;

DROP TRIGGER IF EXISTS update_user_progress_updated_at ON user_progress;
DROP TABLE IF EXISTS user_progress;

DROP TABLE IF EXISTS user_achievements;
DROP TABLE IF EXISTS achievement_definitions;

DROP TRIGGER IF EXISTS update_user_skills_updated_at ON user_skills;
DROP TABLE IF EXISTS user_skills;
DROP TABLE IF EXISTS skill_definitions;

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 2;
  END IF;
END
$$;
