-- Password lifecycle: e-mailed verification codes, throttling counters shared by all
-- provider processes, and the profile's analytics setting.

CREATE TABLE email_codes (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    purpose     TEXT NOT NULL,          -- password_change | password_reset
    code_hash   TEXT NOT NULL,          -- HMAC-SHA-256 under a key derived from the KEK
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    used_at     BIGINT,
    voided_at   BIGINT
);
CREATE INDEX email_codes_user ON email_codes(user_id, purpose);

CREATE TABLE throttle (
    key            TEXT PRIMARY KEY,    -- e.g. login:ip:203.0.113.7, login:account:<hash>
    failures       BIGINT NOT NULL,
    blocked_until  BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL
);

ALTER TABLE users ADD COLUMN analytics_consent BIGINT NOT NULL DEFAULT 0;
