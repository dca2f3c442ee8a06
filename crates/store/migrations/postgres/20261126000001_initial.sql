-- Gatehouse schema, PostgreSQL dialect. Keep in step with ../sqlite/20261126000001_initial.sql:
-- same tables, columns and constraints; only the types' spelling differs.
-- Ids are TEXT (hyphenated UUIDv7); timestamps are BIGINT unix seconds (UTC).
-- Name columns use COLLATE "C" so ORDER BY sorts bytewise, exactly as SQLite does.

CREATE TABLE users (
    id                   TEXT    PRIMARY KEY CHECK (length(id) = 36),
    username             TEXT    NOT NULL,
    -- Uniqueness ignores case: the application stores the lowercased username here.
    username_lower       TEXT    COLLATE "C" NOT NULL UNIQUE,
    email                TEXT,
    password_hash        TEXT    NOT NULL,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT  NOT NULL,
    sessions_valid_after BIGINT
);

CREATE TABLE roles (
    name        TEXT COLLATE "C" PRIMARY KEY,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE role_permissions (
    role       TEXT COLLATE "C" NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    permission TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (role, permission)
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT COLLATE "C" NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);

-- "groups" is a keyword in both dialects, hence user_groups.
CREATE TABLE user_groups (
    name        TEXT COLLATE "C" PRIMARY KEY,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE group_members (
    group_name TEXT COLLATE "C" NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_name, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE group_roles (
    group_name TEXT COLLATE "C" NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    role       TEXT COLLATE "C" NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (group_name, role)
);

-- A session is one refresh-token family.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY CHECK (length(id) = 36),
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens by the hex SHA-256 of the opaque token; the token itself is never stored.
CREATE TABLE refresh_tokens (
    hash        TEXT    PRIMARY KEY CHECK (length(hash) = 64),
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    parent_hash TEXT,
    issued_at   BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT,
    replaced_by TEXT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE revoked_jtis (
    jti        TEXT    PRIMARY KEY,
    expires_at BIGINT  NOT NULL,
    revoked_at BIGINT  NOT NULL
);
CREATE INDEX revoked_jtis_expires ON revoked_jtis (expires_at);

-- Every revocation, in commit order, for gateways that follow the log. No foreign keys: the
-- entry must outlive a deleted user or session.
CREATE TABLE revocations (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('token', 'session', 'user')),
    jti         TEXT,
    session_id  TEXT,
    user_id     TEXT,
    expires_at  BIGINT,
    valid_after BIGINT
);
CREATE INDEX revocations_at ON revocations (at);

CREATE TABLE clients (
    client_id   TEXT COLLATE "C"    PRIMARY KEY,
    secret_hash TEXT    NOT NULL,
    name        TEXT COLLATE "C"    NOT NULL,
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE client_roles (
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    role      TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (client_id, role)
);

CREATE TABLE client_scopes (
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (client_id, scope)
);

-- seq breaks ties between keys added in the same second: the later insert is newer.
CREATE TABLE signing_keys (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kid         TEXT    COLLATE "C" NOT NULL UNIQUE,
    algorithm   TEXT    NOT NULL,
    private_pem TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    not_after   BIGINT,
    retired_at  BIGINT
);

CREATE TABLE login_throttle (
    key          TEXT    PRIMARY KEY,
    failures     BIGINT  NOT NULL,
    window_start BIGINT  NOT NULL,
    locked_until BIGINT
);

CREATE TABLE audit_events (
    id      TEXT    PRIMARY KEY CHECK (length(id) = 36),
    at      BIGINT  NOT NULL,
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
