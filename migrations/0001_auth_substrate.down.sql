-- 0001_auth_substrate (down)
-- Drops everything 0001_auth_substrate.sql creates, in reverse dependency order:
-- views, cleanup functions, triggers, tables (seed rows go with them), and the
-- shared trigger function update_updated_at_column() last. Later migrations'
-- downs must run first. Leaves schema_migrations (owned by the runner) alone.

DROP VIEW IF EXISTS user_session_count;
DROP VIEW IF EXISTS user_with_roles;

DROP FUNCTION IF EXISTS cleanup_expired_oauth_states();
DROP FUNCTION IF EXISTS cleanup_expired_sessions();

DROP TRIGGER IF EXISTS update_accounts_updated_at ON accounts;
DROP TRIGGER IF EXISTS update_users_updated_at ON users;

DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS user_roles;
DROP TABLE IF EXISTS role_entitlements;
DROP TABLE IF EXISTS entitlements;
DROP TABLE IF EXISTS roles;
DROP TABLE IF EXISTS rate_limits;
DROP TABLE IF EXISTS oauth_states;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS accounts;
DROP TABLE IF EXISTS users;

DROP FUNCTION IF EXISTS update_updated_at_column();
