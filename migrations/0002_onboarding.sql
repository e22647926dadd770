-- Onboarding: companies, self-registrations, the e-mail outbox and the audit trail;
-- users gain a company, roles, operator flag and the forced password change.

CREATE TABLE companies (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    domain        TEXT NOT NULL UNIQUE,     -- the business e-mail domain (A-label)
    country       TEXT,
    support_level TEXT NOT NULL DEFAULT 'none',
    region        TEXT,
    created_at    BIGINT NOT NULL
);

ALTER TABLE users ADD COLUMN company_id TEXT REFERENCES companies(id);
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';        -- JSON array
ALTER TABLE users ADD COLUMN is_operator BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_expires_at BIGINT;              -- one-time password expiry
ALTER TABLE users ADD COLUMN job_title TEXT;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN country TEXT;

CREATE TABLE registrations (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    given_name          TEXT NOT NULL,
    family_name         TEXT NOT NULL,
    company_name        TEXT NOT NULL,
    country             TEXT NOT NULL,
    job_title           TEXT,
    phone               TEXT,
    locale              TEXT NOT NULL,
    status              TEXT NOT NULL,      -- unconfirmed | pending | approved | rejected
    confirm_token_hash  TEXT UNIQUE,
    confirm_expires_at  BIGINT,
    created_at          BIGINT NOT NULL,
    confirmed_at        BIGINT,
    decided_at          BIGINT,
    decided_by          TEXT,
    reason              TEXT
);
-- One open registration per address.
CREATE UNIQUE INDEX registrations_open_email ON registrations(email)
    WHERE status IN ('unconfirmed', 'pending');
CREATE INDEX registrations_status ON registrations(status, created_at);

CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    text_body        TEXT NOT NULL,       -- emptied once sent (it may hold a secret)
    html_body        TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    locked_until     BIGINT,
    sent_at          BIGINT,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox(sent_at, next_attempt_at);

CREATE TABLE audit_events (
    id        TEXT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,       -- "operator:<username>", "cli:<os user>", "user:<sub>", "system"
    action    TEXT NOT NULL,       -- e.g. registration.approved
    subject   TEXT NOT NULL,       -- what it was done to
    details   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events(at);
