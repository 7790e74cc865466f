-- POST /orders/bulk with an Idempotency-Key: the key, a digest of the request that first
-- used it, and its answer once it has one. A bulk request changes each order in its own
-- transaction, so the key is claimed before they run: a claim without an answer is a
-- request running until lease_until, after which a repeat may take it over (the process
-- that held it stopped).
CREATE TABLE bulk_request_keys (
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    response    TEXT,
    -- Names the claim, so that a process whose lease ran out cannot finish another's.
    claimed_at  TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- The purge finds expired keys without reading the others.
CREATE INDEX bulk_request_keys_expires_at_idx ON bulk_request_keys (expires_at);
