-- 0015_blobs (down): reverts 0015_blobs.sql exactly. Objects still in the bucket are left there.
DROP TRIGGER IF EXISTS blobs_queue_object_deletion ON blobs;
DROP FUNCTION IF EXISTS queue_blob_object_deletion();
DROP TABLE IF EXISTS blob_deletions;
DROP TABLE IF EXISTS blobs;
