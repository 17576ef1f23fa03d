-- 0018_blob_deletion_waits_out_upload_url (up)
-- A blob made through upload-url keeps a valid presigned PUT URL for 5 minutes whatever its
-- status: a ready blob deleted within them could be recreated through the URL after its queue
-- entry was done, leaving an object with no row and no entry. So every deleted row's key now waits
-- until 10 minutes after the row was created (0015 waited for pending rows only). For a direct
-- upload, which has no URL, the wait is harmless: the API deletes the object at once and the
-- sweep deletes it again when the entry comes due.
-- Replaces: function queue_blob_object_deletion() (trigger blobs_queue_object_deletion is kept).
-- Runs inside the runner's transaction: no BEGIN/COMMIT.

CREATE OR REPLACE FUNCTION queue_blob_object_deletion() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO blob_deletions (key, not_before)
    VALUES (OLD.key, GREATEST(NOW(), OLD.created_at + INTERVAL '10 minutes'))
    ON CONFLICT (key) DO NOTHING;
    RETURN OLD;
END;
$$;
