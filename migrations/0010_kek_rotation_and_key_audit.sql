-- Secrets sealed under the key-encryption key (KEK). `mac_root` is the root of the
-- provider's MAC keys (CSRF, e-mail codes, refresh-token children); keeping it here,
-- instead of deriving them from the KEK, lets the KEK rotate without changing them.
CREATE TABLE secrets (
    name   TEXT PRIMARY KEY,
    sealed TEXT NOT NULL
);
-- The last lifecycle state of each signing key that has been recorded in the audit
-- trail (next, active, retired, removed, revoked): the key job records each
-- transition exactly once across processes by moving this forward with a
-- compare-and-set.
ALTER TABLE signing_keys ADD COLUMN recorded_state TEXT;
UPDATE signing_keys SET recorded_state = 'active' WHERE revoked_at IS NULL;
UPDATE signing_keys SET recorded_state = 'revoked' WHERE revoked_at IS NOT NULL;
