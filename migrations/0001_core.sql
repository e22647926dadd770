-- Provider core: users, relying parties, signing keys, browser sessions,
-- pending authorization requests, grants (codes and refresh-token families), tokens.
-- Every timestamp is Unix seconds; booleans are 0/1 integers (portable across backends).

CREATE TABLE users (
    id              TEXT PRIMARY KEY,          -- the stable, opaque `sub`
    username        TEXT NOT NULL UNIQUE,      -- lower-cased
    email           TEXT NOT NULL UNIQUE,      -- lower-cased, domain as IDNA A-label
    email_verified  BIGINT NOT NULL DEFAULT 0,
    given_name      TEXT NOT NULL DEFAULT '',
    family_name     TEXT NOT NULL DEFAULT '',
    locale          TEXT,
    zoneinfo        TEXT,
    password_hash   TEXT,                      -- argon2id PHC string; NULL = no password
    disabled        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE clients (
    client_id                     TEXT PRIMARY KEY,
    client_name                   TEXT NOT NULL,
    secret_hash                   TEXT,        -- SHA-256 of a 256-bit generated secret; NULL for public clients
    token_endpoint_auth_method    TEXT NOT NULL,
    redirect_uris                 TEXT NOT NULL,  -- JSON array of exact strings
    post_logout_redirect_uris     TEXT NOT NULL DEFAULT '[]',
    grant_types                   TEXT NOT NULL,  -- JSON array
    scope                         TEXT NOT NULL,  -- space-separated allowed scopes
    id_token_signed_response_alg  TEXT NOT NULL DEFAULT 'RS256',
    require_pkce                  BIGINT NOT NULL DEFAULT 1,
    created_at                    BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    private_jwe  TEXT NOT NULL,               -- JWE dir+A256GCM under the key-encryption key
    created_at   BIGINT NOT NULL,
    retired_at   BIGINT
);

CREATE TABLE browser_sessions (
    id_hash       TEXT PRIMARY KEY,           -- SHA-256 of the cookie value
    sid           TEXT NOT NULL UNIQUE,       -- public session id (the `sid` claim)
    user_id       TEXT NOT NULL REFERENCES users(id),
    auth_time     BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,            -- absolute end
    ended_at      BIGINT,
    user_agent    TEXT,
    ip            TEXT
);
CREATE INDEX browser_sessions_user ON browser_sessions(user_id);

CREATE TABLE authorization_requests (
    id_hash       TEXT PRIMARY KEY,           -- SHA-256 of the id in the login URL
    browser_hash  TEXT NOT NULL,              -- SHA-256 of the browser cookie that started it
    params        TEXT NOT NULL,              -- JSON of the validated request
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);

-- One row per authorization: the code, then the refresh-token family it starts.
CREATE TABLE grants (
    id               TEXT PRIMARY KEY,
    code_hash        TEXT UNIQUE,
    client_id        TEXT NOT NULL REFERENCES clients(client_id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    sid              TEXT,
    redirect_uri     TEXT NOT NULL,
    redirect_uri_given BIGINT NOT NULL,
    code_challenge   TEXT,
    nonce            TEXT,
    scope            TEXT NOT NULL,
    auth_time        BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    code_expires_at  BIGINT NOT NULL,
    code_used_at     BIGINT,
    expires_at       BIGINT NOT NULL,         -- absolute end of the refresh-token family
    revoked_at       BIGINT
);
CREATE INDEX grants_user ON grants(user_id);

CREATE TABLE refresh_tokens (
    token_hash   TEXT PRIMARY KEY,
    grant_id     TEXT NOT NULL REFERENCES grants(id),
    scope        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT                        -- set when rotated
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

CREATE TABLE access_tokens (
    jti          TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    grant_id     TEXT REFERENCES grants(id),   -- NULL for client_credentials
    user_id      TEXT,
    scope        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX access_tokens_grant ON access_tokens(grant_id);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
