-- 0007_market_substrate (up)
-- The coin market: items, purchases (spec §3.8), and the stored outcomes of requests sent with
-- an Idempotency-Key header. No SQL functions or views: purchase and redeem live in
-- worker/modules/market (spec §7.21). 0006 (planning) is a separate migration.
-- Runs inside the runner's transaction: no BEGIN/COMMIT.

CREATE TABLE market_items (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    key                TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    description        TEXT,
    category           TEXT NOT NULL,
    cost_coins         INTEGER NOT NULL CHECK (cost_coins >= 0),
    icon               TEXT,
    image_url          TEXT,
    is_global          BOOLEAN NOT NULL DEFAULT TRUE,
    is_available       BOOLEAN NOT NULL DEFAULT TRUE,
    is_active          BOOLEAN NOT NULL DEFAULT TRUE,
    is_consumable      BOOLEAN NOT NULL DEFAULT TRUE,
    uses_per_purchase  INTEGER CHECK (uses_per_purchase >= 1),          -- NULL = unlimited
    total_stock        INTEGER CHECK (total_stock >= 0),
    remaining_stock    INTEGER CHECK (remaining_stock >= 0),            -- NULL = unlimited
    created_by_user_id UUID REFERENCES users (id) ON DELETE SET NULL,
    sort_order         INTEGER NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_market_items_category ON market_items (category);
CREATE INDEX idx_market_items_available ON market_items (sort_order, name)
    WHERE is_available = TRUE AND is_active = TRUE AND is_global = TRUE;
CREATE INDEX idx_market_items_sort ON market_items (sort_order);
CREATE INDEX idx_market_items_created_by ON market_items (created_by_user_id);

CREATE TRIGGER update_market_items_updated_at
    BEFORE UPDATE ON market_items
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE user_purchases (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id        UUID NOT NULL REFERENCES market_items (id) ON DELETE RESTRICT,
    cost_coins     INTEGER NOT NULL CHECK (cost_coins >= 0),             -- total paid
    quantity       INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 1),
    purchased_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    redeemed_at    TIMESTAMPTZ,
    uses_remaining INTEGER CHECK (uses_remaining >= 0),
    status         TEXT NOT NULL DEFAULT 'purchased'
                   CHECK (status IN ('purchased', 'redeemed', 'refunded', 'expired')),
    refunded_at    TIMESTAMPTZ,
    refund_reason  TEXT
);

CREATE INDEX idx_user_purchases_user_purchased ON user_purchases (user_id, purchased_at DESC);
CREATE INDEX idx_user_purchases_item_id ON user_purchases (item_id);

-- One row per (user, Idempotency-Key): the request's hash while it runs, then its response, so
-- a retry gets the first answer instead of a second charge. Rows older than a day are purged.
CREATE TABLE idempotency_keys (
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'in_progress' CHECK (state IN ('in_progress', 'completed')),
    response_status INTEGER,
    response_body   JSONB,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (user_id, key),
    CHECK ((state = 'completed') = (response_status IS NOT NULL))
);

CREATE INDEX idx_idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE TRIGGER update_idempotency_keys_updated_at
    BEFORE UPDATE ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
