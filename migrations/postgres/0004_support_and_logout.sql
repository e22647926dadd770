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
