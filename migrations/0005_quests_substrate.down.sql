-- 0005_quests_substrate (down)
-- Drops everything 0005_quests_substrate.sql creates, in reverse dependency order.

DROP TRIGGER IF EXISTS update_quests_updated_at ON quests;
DROP TABLE IF EXISTS quests;
DROP TRIGGER IF EXISTS update_user_quest_progress_updated_at ON user_quest_progress;
DROP TABLE IF EXISTS user_quest_progress;
DROP TRIGGER IF EXISTS update_universal_quests_updated_at ON universal_quests;
DROP TABLE IF EXISTS universal_quests;
