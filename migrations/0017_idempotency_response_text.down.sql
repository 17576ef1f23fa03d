-- 0017_idempotency_response_text (down)
ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE JSONB USING response_body::jsonb;

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 17;
  END IF;
END
$$;
