-- 0007_market_substrate (down)
-- Drops everything 0007_market_substrate.sql creates, in reverse dependency order.

DROP TRIGGER IF EXISTS update_idempotency_keys_updated_at ON idempotency_keys;
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS user_purchases;
DROP TRIGGER IF EXISTS update_market_items_updated_at ON market_items;
DROP TABLE IF EXISTS market_items;

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 7;
  END IF;
END
$$;
