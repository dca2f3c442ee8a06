-- The revocation log also records service clients that were disabled or deleted
-- (kind 'client', with client_id), so gateways following the log refuse their tokens at once.
-- Keep in step with ../sqlite/20261126000020_client_revocations.sql.

ALTER TABLE revocations ADD COLUMN client_id TEXT;
ALTER TABLE revocations DROP CONSTRAINT revocations_kind_check;
ALTER TABLE revocations ADD CONSTRAINT revocations_kind_check
    CHECK (kind IN ('token', 'session', 'user', 'client'));
