-- 0018_blob_deletion_waits_out_upload_url (down): the function exactly as 0015 created it.
CREATE OR REPLACE FUNCTION queue_blob_object_deletion() RETURNS trigger
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

-- Also when run by hand (psql -f): forget this migration in the runner's table, if there is one,
-- so that `migrate check` reports it pending again (the runner's own DELETE then finds nothing).
DO $$
BEGIN
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    DELETE FROM schema_migrations WHERE version = 18;
  END IF;
END
$$;
