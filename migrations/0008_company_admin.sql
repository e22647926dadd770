-- Company administration (docs/company-admin.md): the company's e-mail domains, the
-- Super Admin's invitations, the last sign-in, removed accounts, and an audit trail
-- that can be read per company.

-- Every e-mail domain of a company, its primary one (companies.domain) included. A
-- domain belongs to one company.
CREATE TABLE company_domains (
    domain      TEXT PRIMARY KEY,             -- A-label, lower case
    company_id  TEXT NOT NULL REFERENCES companies(id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX company_domains_company ON company_domains(company_id);
INSERT INTO company_domains (domain, company_id, created_at)
    SELECT domain, id, created_at FROM companies;

-- Bumped by every change to a company's members or invitations, as the first write of
-- the transaction: it serialises those changes (a row lock on PostgreSQL, the write
-- lock on SQLite), so "at least one Super Admin" and the invitation throttle are
-- checked and acted on atomically.
ALTER TABLE companies ADD COLUMN admin_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE invitations (
    id               TEXT PRIMARY KEY,
    company_id       TEXT NOT NULL REFERENCES companies(id),
    email            TEXT NOT NULL,           -- normalised
    given_name       TEXT NOT NULL DEFAULT '',
    family_name      TEXT NOT NULL DEFAULT '',
    roles            TEXT NOT NULL DEFAULT '[]',  -- JSON array of role names
    locale           TEXT NOT NULL,
    portal_url       TEXT NOT NULL,           -- where the accepted invitee continues
    token_hash       TEXT NOT NULL UNIQUE,    -- SHA-256 of the link's 256-bit token
    status           TEXT NOT NULL,           -- pending | accepted | revoked
    invited_by       TEXT NOT NULL,           -- audit actor (user:<sub>, cli:<name>, operator:<name>)
    invited_by_name  TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT NOT NULL,         -- the latest link (a resend replaces it)
    expires_at       BIGINT NOT NULL,
    decided_at       BIGINT,
    renewal_asked_at BIGINT,                  -- the invitee asked for a new link
    user_id          TEXT                     -- the account an acceptance created
);
CREATE INDEX invitations_company ON invitations(company_id, status, created_at, id);
CREATE INDEX invitations_status ON invitations(status, created_at, id);  -- every company's pending ones (operators)
CREATE INDEX invitations_email ON invitations(email, status);

ALTER TABLE users ADD COLUMN last_login_at BIGINT;
ALTER TABLE users ADD COLUMN removed_at BIGINT;  -- removed by the company: anonymised, disabled

ALTER TABLE audit_events ADD COLUMN company_id TEXT;
ALTER TABLE audit_events ADD COLUMN ip TEXT;
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
-- Newest first is ORDER BY at DESC, id DESC (ids sort in creation order within a
-- second): both indexes end in (at, id), so a page of events is read off the index.
CREATE INDEX audit_events_company ON audit_events(company_id, at, id);
DROP INDEX audit_events_at;
CREATE INDEX audit_events_at ON audit_events(at, id);
-- The trail filtered by member (`actor`) or by action, without a company (operators).
CREATE INDEX audit_events_actor ON audit_events(actor, at, id);
CREATE INDEX audit_events_action ON audit_events(action, at, id);
