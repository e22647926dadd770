-- Refresh-token families (RFC 9700 §4.14.2). The grant row is the family and the one
-- place where its rotations are serialised: it holds the hash of the family's ONE live
-- refresh token (refresh_hash), the token that live one replaced (refresh_prev_hash,
-- so that a retry of the newest rotation within the grace window is recognised), when
-- that rotation happened, and the idle expiry of the live token (never later than the
-- grant's absolute expires_at). A rotation is one conditional UPDATE of this row.
ALTER TABLE grants ADD COLUMN refresh_hash TEXT;
ALTER TABLE grants ADD COLUMN refresh_prev_hash TEXT;
ALTER TABLE grants ADD COLUMN refresh_rotated_at BIGINT;
ALTER TABLE grants ADD COLUMN refresh_expires_at BIGINT;

-- The live token of each live grant: its newest unused, unrevoked refresh token.
-- Older tokens become history; presenting one of them is reuse. A retry of a rotation
-- made before this migration is not recognised (its grace window was 10 s).
UPDATE grants SET
    refresh_hash = (SELECT r.token_hash FROM refresh_tokens r
                    WHERE r.grant_id = grants.id AND r.used_at IS NULL AND r.revoked_at IS NULL
                    ORDER BY r.created_at DESC, r.token_hash DESC LIMIT 1),
    refresh_expires_at = (SELECT r.expires_at FROM refresh_tokens r
                          WHERE r.grant_id = grants.id AND r.used_at IS NULL AND r.revoked_at IS NULL
                          ORDER BY r.created_at DESC, r.token_hash DESC LIMIT 1)
WHERE revoked_at IS NULL;

-- refresh_tokens is now the history: every refresh token ever issued (hashed), mapped
-- to its family, kept until the family's absolute end (expires_at) so that any old
-- token presented again is recognised. used_at and revoked_at are no longer written;
-- parent_hash records the token each one replaced.
UPDATE refresh_tokens SET expires_at =
    COALESCE((SELECT g.expires_at FROM grants g WHERE g.id = refresh_tokens.grant_id), expires_at);
DROP INDEX refresh_tokens_parent;

-- Indexes for every lookup on a table that grows with use (idp/tests/it/query_plans.rs
-- fails on a full scan): back-channel logout finds the grants of a session, the admin
-- pages count a company's users, audits are read by subject, the purge job deletes by
-- expiry, and a resent or superseded confirmation finds the unconfirmed registration
-- by address (the partial registrations_open_email index does not serve
-- `status = 'unconfirmed'` on SQLite, which then read every unconfirmed row).
CREATE INDEX grants_sid ON grants(sid);
CREATE INDEX grants_expiry ON grants(expires_at);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);
CREATE INDEX users_company ON users(company_id);
CREATE INDEX audit_events_subject ON audit_events(subject);
CREATE INDEX authorization_requests_expiry ON authorization_requests(expires_at);
CREATE INDEX browser_sessions_expiry ON browser_sessions(expires_at);
CREATE INDEX browser_sessions_ended ON browser_sessions(ended_at);
CREATE INDEX email_codes_expiry ON email_codes(expires_at);
CREATE INDEX throttle_updated ON throttle(updated_at);
CREATE INDEX registrations_email ON registrations(email, status);
