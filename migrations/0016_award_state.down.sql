-- 0016_award_state (down)
DROP FUNCTION IF EXISTS award_state(UUID, TEXT);
