-- POST /orders with an Idempotency-Key: the key, a digest of the request that first used
-- it, and the order it created (with the answer given), written in the order's transaction.
CREATE TABLE idempotency_keys (
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    order_id    BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- The order as the first request was answered; NULL only inside that transaction.
    response    JSONB,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- The purge finds expired keys without reading the others.
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
-- Deleting an order finds its key.
CREATE INDEX idempotency_keys_order_id_idx ON idempotency_keys (order_id);
