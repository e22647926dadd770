-- Staged signing-key rotation. Per algorithm, a key signs from `activates_at` until
-- the next key's `activates_at` (then it is retired: published, verifying only); it
-- leaves the JWKS once every token it signed has expired plus the JWKS cache lifetime.
-- A key created by a rotation activates only after it has been published for at
-- least the JWKS cache lifetime plus a margin (docs/operations.md).
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT;
-- Emergency revocation: out of the JWKS and of every process's key set at once.
ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;
UPDATE signing_keys SET activates_at = created_at;
CREATE INDEX signing_keys_alg ON signing_keys(alg, activates_at);
