-- 0004_habits_goals_substrate (down)
-- Drops everything 0004_habits_goals_substrate.sql creates, in reverse dependency order.

DROP TABLE IF EXISTS goal_milestones;
DROP TRIGGER IF EXISTS update_goals_updated_at ON goals;
DROP TABLE IF EXISTS goals;
DROP TABLE IF EXISTS habit_logs;
DROP TRIGGER IF EXISTS update_habits_updated_at ON habits;
DROP TABLE IF EXISTS habits;
