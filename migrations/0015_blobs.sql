-- 0015_blobs (up)
-- Blob storage bookkeeping (spec §2.14, §3.18, gaps §7.15): one row per object the API stores in
-- the bucket, and a queue of object keys to delete from the bucket.
-- Creates: tables blobs and blob_deletions (+ indexes); function queue_blob_object_deletion()
--   and trigger blobs_queue_object_deletion.
-- Numbered 0015 because 0002–0014 are reserved for the spec's own migrations.
-- Runs inside the runner's transaction: no BEGIN/COMMIT, no CONCURRENTLY.

-- ---------------------------------------------------------------------------
-- blobs: listing and usage come from here, never from listing the bucket.
-- A presigned upload is 'pending' until POST /api/blobs/{id}/complete confirms the object.
-- ---------------------------------------------------------------------------
CREATE TABLE blobs (
    id           UUID PRIMARY KEY,       -- chosen by the API; also part of the key
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          TEXT NOT NULL UNIQUE,   -- {user_id}/{category}/{id}.{ext}
    filename     TEXT NOT NULL,          -- original name, sanitised
    mime_type    TEXT NOT NULL,
    category     TEXT NOT NULL CHECK (category IN ('audio', 'images', 'exports', 'other')),
    size_bytes   BIGINT CHECK (size_bytes >= 0),
    etag         TEXT,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready')),
    metadata     JSONB,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    completed_at TIMESTAMPTZ,
    CHECK (status = 'pending' OR (size_bytes IS NOT NULL AND completed_at IS NOT NULL))
);

CREATE INDEX idx_blobs_user_created ON blobs (user_id, created_at DESC);
CREATE INDEX idx_blobs_pending_created ON blobs (created_at) WHERE status = 'pending';

-- ---------------------------------------------------------------------------
-- blob_deletions: keys whose object must go from the bucket. Filled by the trigger below whenever
-- a blobs row is deleted — by the API, by the pending-upload expiry, or by the users cascade — so
-- deleting a user can never forget their objects. Drained by the API's storage sweep.
-- ---------------------------------------------------------------------------
CREATE TABLE blob_deletions (
    key        TEXT PRIMARY KEY,
    -- A pending upload's presigned PUT may still land within its 5 minutes: wait that out.
    not_before TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    queued_at  TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_blob_deletions_not_before ON blob_deletions (not_before);

CREATE FUNCTION queue_blob_object_deletion() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO blob_deletions (key, not_before)
    VALUES (
        OLD.key,
        CASE WHEN OLD.status = 'pending'
             THEN GREATEST(NOW(), OLD.created_at + INTERVAL '10 minutes')
             ELSE NOW() END
    )
    ON CONFLICT (key) DO NOTHING;
    RETURN OLD;
END;
$$;

CREATE TRIGGER blobs_queue_object_deletion
    AFTER DELETE ON blobs
    FOR EACH ROW EXECUTE FUNCTION queue_blob_object_deletion();
