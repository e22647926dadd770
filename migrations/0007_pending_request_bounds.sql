-- Bounds on pending authorization requests (docs/security.md, "Pending authorization
-- requests"): what each request counts against, and indexes so that counting and
-- eviction never scan the table (the purge uses authorization_requests_expiry, 0005).
ALTER TABLE authorization_requests ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_requests ADD COLUMN network TEXT NOT NULL DEFAULT '';   -- ClientIp::network()
ALTER TABLE authorization_requests ADD COLUMN client_seq BIGINT NOT NULL DEFAULT 0; -- position in its client's sequence

CREATE INDEX authorization_requests_browser ON authorization_requests (browser_hash, created_at, id_hash);
CREATE INDEX authorization_requests_network ON authorization_requests (network, created_at, id_hash);
CREATE INDEX authorization_requests_client ON authorization_requests (client_id, client_seq);

-- The last sequence number given to a pending request of each client: the newest
-- `authorize.max_pending_per_client` numbers of a client are the ones kept.
CREATE TABLE authorization_request_counters (
    client_id  TEXT PRIMARY KEY,
    next_seq   BIGINT NOT NULL
);
