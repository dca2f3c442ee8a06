-- Web UI: browser sessions, their secrets, and links to external (OIDC) identities.
-- Keep in step with ../postgres/20261126000010_web_sessions.sql.

-- Secrets the web UI generates once and every instance shares (the cookie key).
CREATE TABLE web_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A browser session. The cookie holds a random id; the row is keyed by its SHA-256 so a
-- database reader cannot forge one. The refresh token of the session's family is stored
-- encrypted (AES-256-GCM under a key the database does not hold).
CREATE TABLE web_sessions (
    id_hash          TEXT    PRIMARY KEY CHECK (length(id_hash) = 64),
    session_id       TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id          TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_sealed   TEXT    NOT NULL,
    provider         TEXT,
    provider_sealed  TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
CREATE INDEX web_sessions_session ON web_sessions (session_id);

-- Which local user an external identity (issuer name + subject) signs in as.
CREATE TABLE external_identities (
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);
