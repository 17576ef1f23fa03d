-- 0001_auth_substrate (up)
-- Identity, sessions, RBAC and audit substrate (spec §2.2, §2.5, §2.6, §3.22).
-- Creates: function update_updated_at_column(); tables users, accounts, sessions,
--   oauth_states, rate_limits, roles, entitlements, role_entitlements, user_roles,
--   audit_log (+ indexes, updated_at triggers on users and accounts); seeds for
--   roles, entitlements and role_entitlements; views user_with_roles and
--   user_session_count; functions cleanup_expired_sessions() and
--   cleanup_expired_oauth_states().
-- Runs inside the runner's transaction: no BEGIN/COMMIT, no CONCURRENTLY.
-- Uses core gen_random_uuid() (PG13+); no extensions.

-- ---------------------------------------------------------------------------
-- Shared trigger function: keep updated_at current on every UPDATE.
-- ---------------------------------------------------------------------------
CREATE FUNCTION update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$;

-- ---------------------------------------------------------------------------
-- users
-- ---------------------------------------------------------------------------
CREATE TABLE users (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name             TEXT NOT NULL DEFAULT 'User',
    email            TEXT NOT NULL,
    email_verified   TIMESTAMPTZ,
    image            TEXT,
    role             TEXT NOT NULL DEFAULT 'user'
                     CHECK (role IN ('user', 'admin', 'moderator')),
    approved         BOOLEAN NOT NULL DEFAULT TRUE,
    -- COPPA: age must be confirmed explicitly (POST /auth/verify-age).
    age_verified     BOOLEAN NOT NULL DEFAULT FALSE,
    tos_accepted     BOOLEAN NOT NULL DEFAULT FALSE,
    tos_accepted_at  TIMESTAMPTZ,
    tos_version      TEXT,
    last_activity_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- Case-insensitive uniqueness; look users up with lower(email) = lower($1).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX idx_users_role ON users (role);
CREATE INDEX idx_users_created_at ON users (created_at);

CREATE TRIGGER update_users_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- ---------------------------------------------------------------------------
-- accounts: linked OAuth identities. Provider tokens are never stored.
-- ---------------------------------------------------------------------------
CREATE TABLE accounts (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type                TEXT NOT NULL DEFAULT 'oauth',
    provider            TEXT NOT NULL CHECK (provider IN ('google', 'azure-ad')),
    provider_account_id TEXT NOT NULL,
    email               TEXT,                -- email the provider asserted
    email_verified      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (provider, provider_account_id)
);

CREATE INDEX idx_accounts_user_id ON accounts (user_id);

CREATE TRIGGER update_accounts_updated_at
    BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- ---------------------------------------------------------------------------
-- sessions: only the SHA-256 of the random session id is stored.
-- ---------------------------------------------------------------------------
CREATE TABLE sessions (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    expires_at      TIMESTAMPTZ NOT NULL,    -- absolute lifetime
    idle_expires_at TIMESTAMPTZ NOT NULL,    -- sliding idle timeout
    created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_seen_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    revoked_at      TIMESTAMPTZ,
    revoked_reason  TEXT,
    user_agent      TEXT,
    ip_address      INET,
    rotated_from    UUID REFERENCES sessions (id) ON DELETE SET NULL,
    -- Set when the user's privileges change out of band (role granted or revoked): the next
    -- request with this session gets a new session id.
    needs_rotation  BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (rotated_from IS DISTINCT FROM id)
);

CREATE INDEX idx_sessions_user_id ON sessions (user_id);
CREATE INDEX idx_sessions_expires_at ON sessions (expires_at);
-- Supports the ON DELETE SET NULL of rotated_from when sessions are deleted.
CREATE INDEX idx_sessions_rotated_from ON sessions (rotated_from);

-- ---------------------------------------------------------------------------
-- oauth_states: pending OAuth flows (shared across instances, with a TTL).
-- ---------------------------------------------------------------------------
CREATE TABLE oauth_states (
    state_hash      BYTEA PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    provider        TEXT NOT NULL CHECK (provider IN ('google', 'azure')),
    nonce           TEXT NOT NULL,
    code_verifier   TEXT NOT NULL,
    redirect_path   TEXT NOT NULL DEFAULT '/today',
    browser_binding BYTEA NOT NULL,          -- hash of the flow-binding cookie value
    created_at      TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX idx_oauth_states_expires_at ON oauth_states (expires_at);

-- ---------------------------------------------------------------------------
-- rate_limits: fixed-window counters.
-- ---------------------------------------------------------------------------
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    count        INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (key, window_start)
);

CREATE INDEX idx_rate_limits_window_start ON rate_limits (window_start);

-- ---------------------------------------------------------------------------
-- RBAC
-- ---------------------------------------------------------------------------
CREATE TABLE roles (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name           TEXT NOT NULL UNIQUE,
    description    TEXT,
    parent_role_id UUID REFERENCES roles (id) ON DELETE SET NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE entitlements (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    resource    TEXT NOT NULL,
    action      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CHECK (name = resource || ':' || action)
);

CREATE TABLE role_entitlements (
    role_id        UUID NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    entitlement_id UUID NOT NULL REFERENCES entitlements (id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (role_id, entitlement_id)
);

CREATE INDEX idx_role_entitlements_entitlement_id ON role_entitlements (entitlement_id);

CREATE TABLE user_roles (
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    UUID NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    granted_by UUID REFERENCES users (id) ON DELETE SET NULL,
    granted_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, role_id)
);

CREATE INDEX idx_user_roles_role_id ON user_roles (role_id);
CREATE INDEX idx_user_roles_granted_by ON user_roles (granted_by);

INSERT INTO roles (name, description) VALUES
    ('user',      'Standard user'),
    ('admin',     'Administrator with full access'),
    ('moderator', 'Moderator: user and content moderation, admin console access');

INSERT INTO entitlements (name, description, resource, action)
SELECT v.name, v.description, split_part(v.name, ':', 1), split_part(v.name, ':', 2)
FROM (VALUES
    ('users:read',     'Read user data'),
    ('users:write',    'Modify user data'),
    ('users:delete',   'Delete users'),
    ('admin:access',   'Access the admin console'),
    ('admin:users',    'Manage users'),
    ('admin:content',  'Manage content'),
    ('admin:backup',   'Backup and restore'),
    ('quests:read',    'Read quests'),
    ('quests:write',   'Create and modify quests'),
    ('quests:admin',   'Administer quests'),
    ('feedback:read',  'Read feedback'),
    ('feedback:write', 'Submit feedback'),
    ('feedback:admin', 'Administer feedback')
) AS v (name, description);

INSERT INTO role_entitlements (role_id, entitlement_id)
SELECT r.id, e.id
FROM (VALUES
    ('user', 'users:read'), ('user', 'users:write'),
    ('user', 'quests:read'), ('user', 'feedback:write'),
    ('moderator', 'users:read'), ('moderator', 'users:write'),
    ('moderator', 'quests:read'), ('moderator', 'quests:write'),
    ('moderator', 'feedback:read'), ('moderator', 'feedback:admin'),
    ('moderator', 'admin:access')
) AS m (role_name, entitlement_name)
JOIN roles r ON r.name = m.role_name
JOIN entitlements e ON e.name = m.entitlement_name;

-- admin gets every entitlement.
INSERT INTO role_entitlements (role_id, entitlement_id)
SELECT r.id, e.id
FROM roles r CROSS JOIN entitlements e
WHERE r.name = 'admin';

-- ---------------------------------------------------------------------------
-- audit_log
-- ---------------------------------------------------------------------------
CREATE TABLE audit_log (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       UUID REFERENCES users (id) ON DELETE SET NULL,
    session_id    UUID REFERENCES sessions (id) ON DELETE SET NULL,
    event_type    TEXT NOT NULL CHECK (event_type IN (
                      'login', 'login_failed', 'logout', 'session_rotated',
                      'session_revoked', 'account_linked', 'user_created',
                      'role_granted', 'role_revoked', 'csrf_violation',
                      'rate_limited', 'purchase', 'user_deleted', 'admin_action')),
    resource_type TEXT,
    resource_id   TEXT,
    action        TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'success'
                  CHECK (status IN ('success', 'failure', 'denied')),
    details       JSONB,
    ip_address    INET,
    user_agent    TEXT,
    request_id    TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_audit_log_user_id ON audit_log (user_id);
CREATE INDEX idx_audit_log_event_type ON audit_log (event_type);
CREATE INDEX idx_audit_log_created_at ON audit_log (created_at);
CREATE INDEX idx_audit_log_resource ON audit_log (resource_type, resource_id);
-- Supports the ON DELETE SET NULL of session_id when sessions are cleaned up.
CREATE INDEX idx_audit_log_session_id ON audit_log (session_id);
CREATE INDEX idx_audit_log_security ON audit_log (event_type, created_at)
    WHERE event_type IN ('login', 'logout', 'login_failed', 'session_rotated',
                         'session_revoked', 'role_granted', 'role_revoked');

-- ---------------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------------
-- One row per user: legacy users.role plus the names of unexpired role grants
-- and the distinct entitlements they carry (same rule as the auth lookup, §2.5).
CREATE VIEW user_with_roles AS
SELECT
    u.id,
    u.email,
    u.name,
    u.image,
    u.role AS legacy_role,
    u.approved,
    u.age_verified,
    u.tos_accepted,
    ARRAY(
        SELECT r.name
        FROM user_roles ur
        JOIN roles r ON r.id = ur.role_id
        WHERE ur.user_id = u.id
          AND (ur.expires_at IS NULL OR ur.expires_at > NOW())
        ORDER BY r.name
    ) AS roles,
    ARRAY(
        SELECT DISTINCT e.name
        FROM user_roles ur
        JOIN role_entitlements re ON re.role_id = ur.role_id
        JOIN entitlements e ON e.id = re.entitlement_id
        WHERE ur.user_id = u.id
          AND (ur.expires_at IS NULL OR ur.expires_at > NOW())
        ORDER BY e.name
    ) AS entitlements
FROM users u;

-- Active (not revoked, not expired, not idle-expired) sessions per user.
CREATE VIEW user_session_count AS
SELECT
    s.user_id,
    COUNT(*) AS active_sessions,
    MAX(s.last_seen_at) AS last_seen_at
FROM sessions s
WHERE s.revoked_at IS NULL
  AND s.expires_at > NOW()
  AND s.idle_expires_at > NOW()
GROUP BY s.user_id;

-- ---------------------------------------------------------------------------
-- Cleanup functions (scheduled by the application, not by the database)
-- ---------------------------------------------------------------------------
CREATE FUNCTION cleanup_expired_sessions() RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    deleted INTEGER;
BEGIN
    DELETE FROM sessions
    WHERE expires_at <= NOW()
       OR idle_expires_at <= NOW()
       OR revoked_at < NOW() - INTERVAL '30 days';
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END;
$$;

CREATE FUNCTION cleanup_expired_oauth_states() RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    deleted INTEGER;
BEGIN
    DELETE FROM oauth_states WHERE expires_at <= NOW();
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END;
$$;
