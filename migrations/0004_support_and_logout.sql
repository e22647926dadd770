-- Support information and logout: the user's support PIN (encrypted under the KEK so
-- that it can be released as a claim and checked by operators), relying parties'
-- back-channel logout URIs, and the queue of logout tokens to deliver.

ALTER TABLE users ADD COLUMN support_pin TEXT;             -- JWE dir+A256GCM under the KEK
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

CREATE TABLE logout_deliveries (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    uri              TEXT NOT NULL,
    logout_token     TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    locked_until     BIGINT,
    delivered_at     BIGINT,
    last_error       TEXT
);
CREATE INDEX logout_deliveries_due ON logout_deliveries(delivered_at, next_attempt_at);

-- Refresh-token rotation: a rotated token presented again within the grace window
-- revokes the child it produced first (so only one chain survives); a revoked token
-- presented again is reuse and revokes the family.
ALTER TABLE refresh_tokens ADD COLUMN parent_hash TEXT;
ALTER TABLE refresh_tokens ADD COLUMN revoked_at BIGINT;
CREATE INDEX refresh_tokens_parent ON refresh_tokens(parent_hash);

-- Mail that can never be delivered (a permanent SMTP error) is given up, not retried.
ALTER TABLE outbox ADD COLUMN given_up_at BIGINT;
