-- 0007_market_substrate (down)
-- Drops everything 0007_market_substrate.sql creates, in reverse dependency order.

DROP TRIGGER IF EXISTS update_idempotency_keys_updated_at ON idempotency_keys;
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS user_purchases;
DROP TRIGGER IF EXISTS update_market_items_updated_at ON market_items;
DROP TABLE IF EXISTS market_items;
