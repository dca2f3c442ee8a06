-- The revocation log also records service clients that were disabled or deleted
-- (kind 'client', with client_id), so gateways following the log refuse their tokens at once.
-- Keep in step with ../postgres/20261126000020_client_revocations.sql.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt. Its AUTOINCREMENT
-- counter is carried over, so no seq is ever handed out twice (a follower's cursor stays
-- valid even when the log had been purged to empty).

CREATE TABLE revocations_new (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('token', 'session', 'user', 'client')),
    jti         TEXT,
    session_id  TEXT,
    user_id     TEXT,
    expires_at  INTEGER,
    valid_after INTEGER,
    client_id   TEXT
);

INSERT INTO revocations_new (seq, at, kind, jti, session_id, user_id, expires_at, valid_after)
SELECT seq, at, kind, jti, session_id, user_id, expires_at, valid_after FROM revocations;

DELETE FROM sqlite_sequence WHERE name = 'revocations_new';
UPDATE sqlite_sequence SET name = 'revocations_new' WHERE name = 'revocations';

DROP TABLE revocations;
ALTER TABLE revocations_new RENAME TO revocations;
CREATE INDEX revocations_at ON revocations (at);
