-- 0017_idempotency_response_text (up)
-- A replayed response must be the first response, byte for byte. JSONB stores objects with its
-- own key order (shorter keys first), so a replay came back reordered; JSON keeps the text as
-- written. Stored answers convert as they are (their order was already JSONB's).
-- Runs inside the runner's transaction: no BEGIN/COMMIT.

ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE JSON USING response_body::json;
