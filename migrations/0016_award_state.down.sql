-- 0016_award_state (down)
DROP FUNCTION IF EXISTS award_state(UUID, TEXT);

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 16;
  END IF;
END
$$;
