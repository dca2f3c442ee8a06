-- Gatehouse schema, SQLite dialect. Keep in step with ../postgres/20261126000001_initial.sql:
-- same tables, columns and constraints; only the types' spelling differs.
-- Ids are TEXT (hyphenated UUIDv7); timestamps are INTEGER unix seconds (UTC).

CREATE TABLE users (
    id                   TEXT    PRIMARY KEY CHECK (length(id) = 36),
    username             TEXT    NOT NULL,
    -- Uniqueness ignores case: the application stores the lowercased username here.
    username_lower       TEXT    NOT NULL UNIQUE,
    email                TEXT,
    password_hash        TEXT    NOT NULL,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           INTEGER NOT NULL,
    sessions_valid_after INTEGER
);

CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE role_permissions (
    role       TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role, permission)
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);

-- "groups" is a keyword in both dialects, hence user_groups.
CREATE TABLE user_groups (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE group_members (
    group_name TEXT NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_name, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE group_roles (
    group_name TEXT NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    role       TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (group_name, role)
);

-- A session is one refresh-token family.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY CHECK (length(id) = 36),
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    revoked_at   INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens by the hex SHA-256 of the opaque token; the token itself is never stored.
CREATE TABLE refresh_tokens (
    hash        TEXT    PRIMARY KEY CHECK (length(hash) = 64),
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    parent_hash TEXT,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    replaced_by TEXT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE revoked_jtis (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
);
CREATE INDEX revoked_jtis_expires ON revoked_jtis (expires_at);

-- Every revocation, in commit order, for gateways that follow the log. No foreign keys: the
-- entry must outlive a deleted user or session.
CREATE TABLE revocations (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('token', 'session', 'user')),
    jti         TEXT,
    session_id  TEXT,
    user_id     TEXT,
    expires_at  INTEGER,
    valid_after INTEGER
);
CREATE INDEX revocations_at ON revocations (at);

CREATE TABLE clients (
    client_id   TEXT    PRIMARY KEY,
    secret_hash TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE client_roles (
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    role      TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (client_id, role)
);

CREATE TABLE client_scopes (
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope     TEXT NOT NULL,
    PRIMARY KEY (client_id, scope)
);

-- seq breaks ties between keys added in the same second: the later insert is newer.
CREATE TABLE signing_keys (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kid         TEXT    NOT NULL UNIQUE,
    algorithm   TEXT    NOT NULL,
    private_pem TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    not_after   INTEGER,
    retired_at  INTEGER
);

CREATE TABLE login_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER
);

CREATE TABLE audit_events (
    id      TEXT    PRIMARY KEY CHECK (length(id) = 36),
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT,
    ip      TEXT,
    -- JSON text (TEXT on both databases so one query decodes both).
    details TEXT    NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_action_at ON audit_events (action, at);
CREATE INDEX audit_events_actor_at ON audit_events (actor, at);

-- The built-in administrator role.
INSERT INTO roles (name, description)
VALUES ('admin', 'Administers Gatehouse: users, roles, groups, sessions, clients, audit log');
INSERT INTO role_permissions (role, permission) VALUES ('admin', 'gatehouse:admin');
