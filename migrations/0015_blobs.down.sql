-- 0015_blobs (down): reverts 0015_blobs.sql exactly. Objects still in the bucket are left there.
DROP TRIGGER IF EXISTS blobs_queue_object_deletion ON blobs;
DROP FUNCTION IF EXISTS queue_blob_object_deletion();
DROP TABLE IF EXISTS blob_deletions;
DROP TABLE IF EXISTS blobs;

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 15;
  END IF;
END
$$;
